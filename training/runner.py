"""One run of any recipe, from settled settings to a run directory.

settings -> run directory -> data (``data.Splits``, as the recipe splits it)
-> trainer (its real batches per step size the epochs: ``DataRecord``) ->
``config.json`` -> the checkpoint a resumed run continues from -> one frozen
``RunContext`` -> ``fit`` with the recipe's callbacks -> files. What a run
writes besides its config, its log and its checkpoints' restoring (sample
grids, figures, the pretrained critic) is the recipe's, through its hooks.
The three training scripts, the benches and the tests all train through
``run``.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import sys

import keras

from base.errors import UserError
from base.gpus import start_gpus
from base.rundir import Position, RunDirectory, complete_checkpoints, move_aside, remove_incomplete
from base.terminal import fit_verbosity
from data import LabelledImages, Splits, steps_per_epoch, training_dataset
from training.checkpoints import DamagedCheckpoint, apply_checkpoint, out_of_space, read_checkpoint
from training.context import RunContext
from training.devices import (
    check_batch_split,
    describe,
    is_chief,
    make_strategy,
    set_precision,
    steps_per_execution,
)
from training.init_from import carried_classes
from training.settings import DataRecord, Settings, to_json

log = logging.getLogger("artgan")


def run(recipe, settings: Settings, earlier: DataRecord | None = None) -> RunDirectory:
    """Train ``recipe``'s trainer as ``settings`` say; ``earlier``: what a resumed run's data held when it started."""
    start_gpus()  # memory growth before any GPU is used (a no-op where the script's start did it)
    strategy = make_strategy(settings.devices.strategy)  # first: a multi-worker strategy must precede other TF work
    chief = is_chief(strategy)
    run_dir = open_run_directory(settings, writer=chief)
    check_batch_split(settings.optimisation.batch_size, strategy)
    if chief:
        attach_log_file(run_dir)
    splits = recipe.split(settings, Splits(settings.data, progress=not settings.run.quiet))
    images = splits.train
    check_same_data(images, earlier)
    keras.utils.set_random_seed(settings.run.seed)
    set_precision(settings.devices.policy)
    with strategy.scope():
        trainer = recipe.build(settings, images.image_shape, images.class_names)
        record = data_record(recipe, settings, images, trainer.real_batches_per_step)
        if earlier is not None:  # a resumed run carried its classes over when it started
            record = dataclasses.replace(record, init_classes=earlier.init_classes)
        recipe.compile(trainer, settings, record)
        position = resume_point(trainer, run_dir, settings)
    context = RunContext(settings, run_dir, splits, record, position, chief)
    trainer.steps_per_execution = execution_steps(context)
    if chief:
        run_dir.write_config(to_json(settings, record))
    log.info(
        "run directory %s; epochs %d..%d of %d steps, each on %d real images",
        run_dir.root,
        position.epochs + 1,
        record.epochs_actual,
        record.steps_per_epoch_actual,
        settings.optimisation.batch_size * trainer.real_batches_per_step,
    )
    batch, policy = settings.optimisation.batch_size, settings.devices.policy
    log.info(
        describe(settings.devices.strategy, strategy, batch, policy, trainer.jit_compile, trainer.steps_per_execution)
    )
    arguments = {"callbacks": recipe.callbacks(context), **recipe.fit_options(context)}
    try:
        history = run_epochs(trainer, context, arguments)
    except OSError as error:  # a sample grid or the log on a full disk; a checkpoint says so itself
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise UserError(out_of_space(run_dir.checkpoints, f"could not write to {run_dir.root}", error)) from None
    if not chief:
        log.info("done (a worker: the chief writes %s)", run_dir.root)
        return run_dir
    if history is not None:
        recipe.finish(context, history)
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


def check_same_data(images: LabelledImages, earlier: DataRecord | None) -> None:
    """A resumed run must see the classes and image shape it trained on."""
    shape, names = tuple(images.image_shape), tuple(images.class_names)
    if earlier is not None and (earlier.class_names != names or tuple(earlier.image_shape) != shape):
        raise UserError(
            f"the data now has classes {list(names)} and shape {list(shape)}, the run was trained on "
            f"{list(earlier.class_names)} and {list(earlier.image_shape)}"
        )


def data_record(recipe, settings: Settings, images: LabelledImages, real_batches: int) -> DataRecord:
    """What the training data held, once, and the epochs' length that ``real_batches`` per step give."""
    shape, names = tuple(images.image_shape), tuple(images.class_names)
    images_per_step = settings.optimisation.batch_size * real_batches
    steps = steps_per_epoch(len(images.labels), images_per_step, settings.data.steps_per_epoch)
    steps, epochs = recipe.training_length(settings, steps)
    init_classes = None
    if not resuming(settings):  # a resumed run's are those it recorded when it started
        init_classes = carried_classes(getattr(settings.networks, "init_weights", None), names)
    return DataRecord(shape, names, int(len(images.labels)), steps, epochs, init_classes)


def execution_steps(context: RunContext) -> int:
    """Train steps per call of the compiled step (``--steps-per-execution``)."""
    settings = context.settings
    return steps_per_execution(
        settings.devices.steps_per_execution,
        context.record.steps_per_epoch_actual,
        getattr(settings.run, "checkpoint_every", None),
        context.position.step,
        settings.devices.strategy,
    )


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


def fit_epochs(trainer, context: RunContext, start: Position, arguments: dict):
    """``fit`` from ``start`` to the last epoch or, from inside an epoch, to that epoch's end.

    ``fit``'s epochs all take one number of steps: an epoch entered
    ``start.step`` batches late is fitted on its own.
    """
    settings, record, images = context.settings, context.record, context.splits.train
    steps = record.steps_per_epoch_actual
    last = start.epochs + 1 if start.step else record.epochs_actual
    stream = training_dataset(
        images.training_source(),
        images.labels,
        images.num_classes,
        settings.optimisation.batch_size,
        settings.run.seed,
        settings.data.flip,
        start.epochs,
        last,
        steps,
        skip=start.step,
        group=trainer.real_batch_group,
    )
    return trainer.fit(
        stream,
        epochs=last,
        initial_epoch=start.epochs,
        steps_per_epoch=steps - start.step,
        verbose=fit_verbosity(settings.run.quiet),
        shuffle=False,
        **arguments,
    )


def run_epochs(trainer, context: RunContext, arguments: dict):
    """The epochs left after the context's position; the last ``fit``'s history, or None where none were left."""
    start, epochs, history = context.position, context.record.epochs_actual, None
    if start.step:  # finish the interrupted epoch from the batch after the checkpoint
        history = fit_epochs(trainer, context, start, arguments)
        start = Position(start.epochs + 1)
    if start.epochs < epochs:
        history = fit_epochs(trainer, context, start, arguments)
    if context.position.epochs >= epochs:
        log.info("the run already has %d epochs; pass a larger --epochs to train more", context.position.epochs)
    return history
