"""Every place this project works around Keras 3's trainer, each with the Keras version it was written for.

tests/test_keras_workarounds.py checks, against the installed Keras, that
each one is still needed and still hooks where it should: an upgrade that
makes one unnecessary or wrong fails there, not silently in a user's run.
"""

from __future__ import annotations

import keras
import tensorflow as tf

WRITTEN_FOR = "3.15"  # the Keras release these were written and checked against


class PrebuiltTrainer(keras.Model):
    """A ``keras.Model`` that trains networks built before ``fit`` (a GAN, a critic with its generator).

    Two of Keras's assumptions do not hold for such a trainer (Keras 3.15):

    - ``built``: Keras builds an unbuilt model by tracing ``call`` on a data
      batch; the trainer's ``call`` takes (z, condition), its data batch is
      (images, conditions). ``mark_built`` says there is nothing to build.
    - ``_maybe_symbolic_build``, private: under any tf.distribute strategy,
      ``fit`` takes one data batch from the iterator, averages it over the
      replicas and traces ``_symbolic_build`` on it, which fails under
      MultiWorkerMirroredStrategy and would run the generator on images.
    """

    def mark_built(self) -> None:
        """Call at the end of ``__init__``, once every network and tracker exists."""
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: the networks, trackers and optimizers all exist already."""


def step_logs(trackers: dict, current: dict | None = None) -> dict:
    """Running means for ``fit``'s logs, and the ``current`` values of quantities that are not means.

    Under MultiWorkerMirroredStrategy, Keras 3.15 gathers a step's outputs
    over workers along axis 0 (``_multi_worker_concat``), which fails on
    scalars: there each value travels as a length-1 vector.
    """
    results = {name: tracker.result() for name, tracker in trackers.items()}
    results.update(current or {})
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        results = {name: tf.reshape(value, [1]) for name, value in results.items()}
    return results
