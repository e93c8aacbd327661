"""One run of any recipe, from settled settings to a run directory.

settings -> run directory -> data -> trainer (its real batches per step size
the epochs: ``Found``) -> ``config.json`` -> ``fit`` with the recipe's
callbacks -> files. The three training scripts, the benches and the tests
all train through ``run``.
"""

from __future__ import annotations

import errno
import logging
import sys

import keras

from base.errors import UserError
from base.gpus import start_gpus
from base.rundir import DEFAULT_CACHE, Position, RunDirectory, complete_checkpoints, move_aside, remove_incomplete
from base.terminal import fit_verbosity
from data import LabelledImages, load_images, steps_per_epoch, training_dataset
from evaluation.callback import evaluation_callbacks
from sampling import fixed_noise
from training.callbacks import Checkpoint, EpochLog, MixingMatrix, SampleGrid, tensorboard_callbacks
from training.checkpoints import DamagedCheckpoint, apply_checkpoint, out_of_space, read_checkpoint
from training.devices import (
    check_batch_split,
    describe,
    is_chief,
    make_strategy,
    set_precision,
    steps_per_execution,
)
from training.settings import Found, Settings, to_json
from training.transfer import carried_classes

log = logging.getLogger("artgan")


def run(recipe, settings: Settings, stored: Found | None = None) -> RunDirectory:
    """Train ``recipe``'s trainer as ``settings`` say; ``stored``: what a resumed run found before."""
    start_gpus()  # memory growth before any GPU is used (a no-op where the script's start did it)
    strategy = make_strategy(settings.devices.strategy)  # first: a multi-worker strategy must precede other TF work
    chief = is_chief(strategy)
    run_dir = open_run_directory(settings, writer=chief)
    check_batch_split(settings.optimisation.batch_size, strategy)
    if chief:
        attach_log_file(run_dir)
    data, validation = recipe.split(settings, load_training_images(settings))
    keras.utils.set_random_seed(settings.run.seed)
    set_precision(settings.devices.policy)
    with strategy.scope():
        trainer = recipe.build(settings, data.image_shape, data.class_names)
        found = find(recipe, settings, data, trainer.real_batches_per_step, stored)
        recipe.compile(trainer, settings, found)
        position = resume_point(trainer, run_dir, settings)
    trainer.steps_per_execution = steps_per_execution(
        settings.devices.steps_per_execution,
        found.steps_per_epoch_actual,
        getattr(settings.run, "checkpoint_every", None),
        position.step,
        settings.devices.strategy,
    )
    if chief:
        run_dir.write_config(to_json(settings, found))
    images = settings.optimisation.batch_size * (trainer.real_batches_per_step or 1)
    log.info(
        "run directory %s; epochs %d..%d of %d steps, each on %d real images",
        run_dir.root,
        position.epochs + 1,
        found.epochs_actual,
        found.steps_per_epoch_actual,
        images,
    )
    batch, policy = settings.optimisation.batch_size, settings.devices.policy
    log.info(
        describe(settings.devices.strategy, strategy, batch, policy, trainer.jit_compile, trainer.steps_per_execution)
    )
    callbacks = recipe.callbacks(trainer, run_dir, settings, found, data, position, chief)
    options = recipe.fit_options(settings, validation)
    try:
        history = run_epochs(trainer, data, settings, found, position, callbacks, options)
    except OSError as error:  # a sample grid or the log on a full disk; a checkpoint says so itself
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise UserError(out_of_space(run_dir.checkpoints, f"could not write to {run_dir.root}", error)) from None
    if not chief:
        log.info("done (a worker: the chief writes %s)", run_dir.root)
        return run_dir
    if history is not None:
        recipe.finish(run_dir, history, found)
    log.info("done: %s", run_dir.root)
    return run_dir


def open_run_directory(settings: Settings, writer: bool = True) -> RunDirectory:
    """Create the run directory (or reopen a resumed one) and check that it can be written.

    Only the ``writer`` (the chief of a multi-worker run) creates anything;
    the other workers read the same directory, for instance to resume.
    """
    run = RunDirectory(settings.run.out)
    if not writer:
        return run
    if not resuming(settings) and run.config.is_file():
        raise UserError(f"{run.root} already holds a run; pass --resume to continue it or choose another --out")
    try:
        run.root.mkdir(parents=True, exist_ok=True)
        probe = run.root / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(f"cannot write to the run directory {run.root}: {error.strerror}") from None
    return run


def resuming(settings: Settings) -> bool:
    return bool(getattr(settings.run, "resume", False))


class RunLog(logging.FileHandler):
    """train.log: any text (a file name that is not UTF-8 as \\x escapes), and silent once its disk is full.

    Logging's own handler prints a traceback for every line it cannot write,
    which would bury the one line that says the disk is full.
    """

    def __init__(self, path):
        super().__init__(path, encoding="utf-8", errors="backslashreplace")

    def handleError(self, record):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handleError(record)


def attach_log_file(run: RunDirectory) -> None:
    handler = RunLog(run.train_log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def load_training_images(settings: Settings) -> LabelledImages:
    data = settings.data
    return load_images(
        data.dataset,
        data.data_dir,
        data.image_size,
        data.resize,
        data.top_styles,
        "train",
        data.cache_dir or str(DEFAULT_CACHE),
        progress=not settings.run.quiet,
    )


def find(recipe, settings: Settings, data: LabelledImages, real_batches: int | None, stored: Found | None) -> Found:
    """What the data turned out to be, once; a resumed run must see the classes and shape it trained on."""
    shape, names = tuple(data.image_shape), tuple(data.class_names)
    if stored is not None and (stored.class_names != names or tuple(stored.image_shape) != shape):
        raise UserError(
            f"the data now has classes {list(names)} and shape {list(shape)}, the run was trained on "
            f"{list(stored.class_names)} and {list(stored.image_shape)}"
        )
    images_per_step = settings.optimisation.batch_size * (real_batches or 1)
    steps = steps_per_epoch(len(data.labels), images_per_step, settings.data.steps_per_epoch)
    steps, epochs = recipe.plan(settings, steps)
    if stored is not None:  # a resumed run carried its classes over when it started
        init_classes = stored.init_classes
    else:
        init_classes = carried_classes(getattr(settings.networks, "init_weights", None), names)
    return Found(shape, names, int(len(data.labels)), steps, epochs, init_classes)


def resume_point(trainer, run: RunDirectory, settings: Settings) -> Position:
    """Restore the newest checkpoint that loads; a new run starts at the beginning.

    Files no complete checkpoint owns are removed first (a save killed or
    stopped by a full disk leaves them); a newest checkpoint that does not
    load is moved to ``checkpoints/damaged/`` and the one before it is taken.
    """
    if not resuming(settings):
        return Position(0)
    removed = remove_incomplete(run.checkpoints)
    if removed:
        names = ", ".join(path.name for path in removed)
        log.info("removed %d files of incomplete checkpoints from %s: %s", len(removed), run.checkpoints, names)
    positions = complete_checkpoints(run.checkpoints)
    if not positions:
        log.info("no complete checkpoint in %s yet: starting at epoch 1", run.checkpoints)
        return Position(0)
    damaged = []
    for position in reversed(positions):
        try:
            networks, state = read_checkpoint(trainer, run.checkpoints, position)
        except DamagedCheckpoint as error:
            damaged.append((position, str(error)))
            continue
        apply_checkpoint(trainer, run.checkpoints, networks, state, position)
        for skipped, reason in damaged:
            folder = move_aside(run.checkpoints, skipped)
            log.warning("skipped the checkpoint at %s, which does not load (%s); its files are now in %s",
                        skipped, reason, folder)  # fmt: skip
        log.info("resumed from the checkpoint at %s", position)
        return position
    raise UserError(f"none of the {len(positions)} checkpoints in {run.checkpoints} loads; the newest: {damaged[0][1]}")


def fit_epochs(trainer, data, settings: Settings, found: Found, first: int, last: int, callbacks, options, skip=0):
    """``fit`` over epochs first+1..last (1-based), the first of them entered ``skip`` batches late."""
    steps = found.steps_per_epoch_actual
    stream = training_dataset(
        data.training_source(),
        data.labels,
        data.num_classes,
        settings.optimisation.batch_size,
        settings.run.seed,
        settings.data.flip,
        first,
        last,
        steps,
        skip=skip,
        group=trainer.real_batches_per_step,
    )
    return trainer.fit(
        stream,
        epochs=last,
        initial_epoch=first,
        steps_per_epoch=steps - skip if skip else steps,
        callbacks=callbacks,
        verbose=fit_verbosity(settings.run.quiet),
        shuffle=False,
        **options,
    )


def run_epochs(trainer, data, settings: Settings, found: Found, position: Position, callbacks, options):
    """The epochs left after ``position``; the last ``fit``'s history, or None where none were left."""
    start, epochs, history = position.epochs, found.epochs_actual, None
    if position.step:  # finish the interrupted epoch from the batch after the checkpoint
        history = fit_epochs(trainer, data, settings, found, start, start + 1, callbacks, options, skip=position.step)
        start += 1
    if start < epochs:
        history = fit_epochs(trainer, data, settings, found, start, epochs, callbacks, options)
    if position.epochs >= epochs:
        log.info("the run already has %d epochs; pass a larger --epochs to train more", position.epochs)
    return history


def run_directory_callbacks(run: RunDirectory, settings: Settings, found: Found, data, position: Position) -> list:
    """Everything that writes a GAN's run directory (the chief's job alone)."""
    names, latent_dim, seed = list(found.class_names), settings.networks.latent_dim, settings.run.seed
    noise = fixed_noise(seed, settings.run.sample_columns, latent_dim)
    mixing_noise = fixed_noise(seed, len(names), latent_dim)
    callbacks = [
        *figure_callbacks(settings, data),  # first: figures join the epoch's row
        EpochLog(run.log_csv, resume_epoch=position.epochs),
        SampleGrid(run.samples, noise, names),
        MixingMatrix(run.mixing_matrix, mixing_noise, names),
        Checkpoint(
            run.checkpoints,
            found.steps_per_epoch_actual,
            settings.run.checkpoint_every,
            settings.run.keep,
            first_step=position.step,
        ),
    ]
    if settings.run.tensorboard:
        callbacks += tensorboard_callbacks(run.root / "tensorboard", noise, names)
    return callbacks


def figure_callbacks(settings: Settings, data) -> list:
    """``--eval-every``'s figures, measured against the val paintings where the dataset has them."""
    if not settings.run.eval_every:
        return []
    return evaluation_callbacks(
        settings.run.eval_every,
        data,
        settings.data.dataset,
        settings.data.data_dir,
        settings.data.resize,
        settings.data.cache_dir or DEFAULT_CACHE,
        inception_weights=settings.run.inception_weights,
        fid_stats=settings.run.fid_stats,
    )
