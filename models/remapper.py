"""The DC-GAN's train step, optimised without TensorFlow's remapper (written for TensorFlow 2.21).

Grappler runs its remapper twice over each function graph. With oneDNN on
(the default on an x86 CPU) the second run fails on the DC-GAN's train step,
and says so on stderr at the first step of every run that lets TensorFlow's
errors through (``TF_CPP_MIN_LOG_LEVEL`` below 3, or TensorFlow imported
before ``base.terminal`` could set it)::

    E0000 ... meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: Mutation::Apply error:
    fanout '.../down1_lrelu_1/LeakyRelu/LeakyReluGrad' exist for missing node '.../down1_conv_1/BiasAdd'

The discriminator's first block is a Conv2D with a bias and no BatchNorm,
then LeakyReLU; its gradient, ``LeakyReluGrad``, reads the LeakyReLU's input,
the BiasAdd. The first run fuses Conv2D + BiasAdd into a ``_FusedConv2D``
that keeps the BiasAdd's name (it refuses Conv2D + BiasAdd + activation: the
BiasAdd has two readers). The second meets ``_FusedConv2D`` -> LeakyRelu, a
oneDNN-only pattern that does not count the convolution's readers, folds the
LeakyRelu into a new node and deletes the one the gradient still reads; the
graph check fails and Grappler drops that run whole. The graph that trains
is the first run's: the bias additions of the first convolution and of the
Dense heads fused into them, nothing else. Without the remapper those are
separate ops and every figure is the same, bit for bit on the machine this
was written on (tests/test_remapper.py). The network cannot avoid the
pattern without other saved layers or weights (no bias, a layer between).

So the train step alone is optimised without the remapper; every other
function (sample grids, evaluation) keeps it. The option travels with each
function call (its ``config_proto``) and a function is optimised once per
set of options, so the switch is made around each call, on this thread only.
"""

from __future__ import annotations

import contextlib
import functools

from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context

WRITTEN_FOR = "2.21"  # the TensorFlow release this was written and checked against

_derived: dict = {}  # the function-call options in force -> the same without the remapper


@contextlib.contextmanager
def remapper_off():
    """Functions called in this block, on this thread, run as optimised without the remapper."""
    eager = context.context()
    options = eager.function_call_options
    eager.function_call_options = without_remapping(options)
    try:
        yield
    finally:
        eager.function_call_options = options


def without_remapping(options):
    key = (options.config_proto_serialized, options.executor_type)
    if key not in _derived:
        config = config_pb2.ConfigProto.FromString(options.config_proto_serialized)
        config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
        _derived[key] = context.FunctionCallOptions(executor_type=options.executor_type, config_proto=config)
    return _derived[key]


def without_the_remapper(function):
    """``function`` (a train step) called with the remapper off; its figures are the same (module note)."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        with remapper_off():
            return function(*args, **kwargs)

    return call
