"""Progress for a person at a terminal, plain lines for a log file.

Keras's ``Progbar`` redraws itself with carriage returns, backspaces and
colour codes whenever it runs on a POSIX system, even into a file; a log
written through ``nohup`` or ``tee`` then holds a screenful of escape codes
per update. Off a terminal, the bars here print one plain line when they end.
"""

from __future__ import annotations

import os
import sys
import tempfile


def on_a_terminal() -> bool:
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty()


def progress_bar(total: int, unit_name: str):
    """A ``keras.utils.Progbar`` that redraws on a terminal and writes one plain line elsewhere."""
    import keras

    return keras.utils.Progbar(total, unit_name=unit_name, verbose=1 if on_a_terminal() else 2)


def fit_verbosity(quiet: bool) -> int:
    """``fit``'s ``verbose``: a live progress bar on a terminal, one plain line per epoch otherwise."""
    return 2 if quiet or not on_a_terminal() else 1


# What TensorFlow's C++ side prints as it starts on a machine without a GPU: notices, not problems. Some
# are written before its logging reads TF_CPP_MIN_LOG_LEVEL, so only filtering the stream removes them.
STARTUP_NOISE = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "cudart_stub.cc",
    "Could not find cuda drivers",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "rebuild TensorFlow with the appropriate compiler flags",
    "failed call to cuInit",
    "Unable to register cu",
    "TF-TRT Warning",
    "computation_placer.cc",
)


def start_tensorflow_quietly(say_where: bool = False) -> None:
    """Import TensorFlow and find its devices with its C++ start-up notices left out of stderr; then the GPUs.

    A new user's first run otherwise opens with oneDNN notices and ``failed
    call to cuInit: INTERNAL: CUDA error``, which reads like a failure. Every
    other line TensorFlow prints meanwhile is passed on. A user who sets
    ``TF_CPP_MIN_LOG_LEVEL`` gets TensorFlow's own logging, notices and all;
    otherwise it is set to 3 (errors surface as Python exceptions anyway).
    Whichever way TensorFlow started, the GPUs then share their memory and a
    GPU that TensorFlow cannot use is named in one warning (``base.gpus``);
    ``say_where`` logs the device it computes on (the training scripts name
    theirs in their own start-up line).
    """
    from base.gpus import start_gpus

    if "tensorflow" not in sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        import_tensorflow_quietly()
    start_gpus(say_where)


def import_tensorflow_quietly() -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # CUDA's probe, and its complaint, happen here
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not any(noise in line for noise in STARTUP_NOISE)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
