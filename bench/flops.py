"""FLOPs of the GAN train steps, counted from the networks' layer shapes.

What is counted (and only that): the multiply-adds of Conv2D,
Conv2DTranspose and Dense layers, two FLOPs each. Normalisation,
activations, pooling, additions, biases, losses and optimizer updates are
left out: they are a few percent of the work at most, and leaving them out
keeps the achieved-FLOP/s figure close to a lower bound.

One forward pass of a network over one sample, ``F``:

- Conv2D: ``2 * H_out * W_out * C_out * kh * kw * C_in / groups``
- Conv2DTranspose: ``2 * H_in * W_in * C_in * kh * kw * C_out`` (each input
  pixel scatters one kernel; with "same" padding and stride s this equals
  the direct count ``2 * H_out * W_out * C_out * kh * kw * C_in / s**2``)
- Dense: ``2 * inputs * units``

A pass that is differentiated costs more than ``F``; the convention here
(the usual one: backprop of a linear layer is two products of the
forward's size, one for the inputs' gradient, one for the weights'):

- forward only:                                          1 F
- forward + gradient to the inputs only (frozen network): 2 F
- forward + gradients to the inputs and the weights:       3 F
- gradient penalty, ``D(x_hat)`` then ``d/dW ||d D(x_hat) / d x_hat||``:
  forward (1) + inner backprop to the input (1) + the outer backprop of
  that inner backprop, to its upstream gradients and to the weights (2) +
  the outer backprop through the forward pass, to its inputs and the
  weights (2; the normalisation's backward depends on the activations)
  = 6 F

Per generator iteration (G and D forward FLOPs for the whole batch):

- DC-GAN: fake for D (1 F_G) + D on real and fake (2 x 3 F_D) + the
  generator update (3 F_G + 2 F_D) = 4 F_G + 8 F_D
- WGAN-GP: n_critic x [fake (1 F_G) + critic on real and fake (2 x 3 F_D)
  + penalty (6 F_D)] + the generator update (3 F_G + 2 F_D)
  = (n_critic + 3) F_G + (12 n_critic + 2) F_D

The convention is checked against the train step itself: ``graph_flops``
adds up the Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and MatMul
ops of a traced step that TensorFlow will run (those reaching an output or
a variable update; gradients nobody uses are pruned before running). The
layer count is slightly higher, because the convention counts gradients to
the first layers' inputs that nothing needs: at the paper's 28 px sizes,
DC-GAN 10.60 against 10.43 GFLOP per iteration, WGAN-GP critic update 292.9
against 292.5, generator update 116.4 against 116.3
(tests/test_throughput_bench.py checks the agreement on small models).
"""

from __future__ import annotations

import math

import keras


def _shape(tensor) -> tuple:
    return tuple(tensor.shape[1:])


def layer_flops(layer) -> int:
    """Forward FLOPs of one layer for one sample (0 for the layers that are not counted)."""
    if isinstance(layer, keras.layers.Conv2DTranspose):
        h_in, w_in, c_in = _shape(layer.input)
        kh, kw = layer.kernel_size
        return 2 * h_in * w_in * c_in * kh * kw * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        c_in = _shape(layer.input)[-1]
        h_out, w_out, c_out = _shape(layer.output)
        kh, kw = layer.kernel_size
        return 2 * h_out * w_out * c_out * kh * kw * c_in // layer.groups
    if isinstance(layer, keras.layers.Dense):
        inputs = _shape(layer.input)
        return 2 * math.prod(inputs) * layer.units
    return 0


def forward_flops(model) -> int:
    """Forward FLOPs of a Functional model for one sample: the sum over its (nested) layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        else:
            total += layer_flops(layer)
    return total


def op_flops(op) -> int:
    """FLOPs of one graph op of a traced step (0 for the ops that are not counted)."""
    if op.type == "Conv2D":
        kh, kw, c_in, _ = op.inputs[1].shape
        return 2 * math.prod(op.outputs[0].shape) * kh * kw * c_in
    if op.type == "Conv2DBackpropInput":  # also the forward pass of Conv2DTranspose
        kh, kw, c_in, _ = op.inputs[1].shape
        return 2 * math.prod(op.inputs[2].shape) * kh * kw * c_in
    if op.type == "Conv2DBackpropFilter":
        kh, kw, c_in, _ = op.outputs[0].shape
        return 2 * math.prod(op.inputs[2].shape) * kh * kw * c_in
    if op.type == "MatMul":
        rows, cols = op.inputs[0].shape
        return 2 * math.prod(op.outputs[0].shape) * (rows if op.get_attr("transpose_a") else cols)
    return 0


def live_ops(graph) -> list:
    """The ops of a traced function that run: those feeding an output or a stateful op (a variable update)."""
    stack = [tensor.op for tensor in graph.outputs]
    stack += [op for op in graph.get_operations() if op.op_def.is_stateful]
    live = set()
    while stack:
        op = stack.pop()
        if op.name not in live:
            live.add(op.name)
            stack.extend(tensor.op for tensor in op.inputs)
            stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op.name in live]


def graph_flops(concrete_function) -> int:
    """FLOPs of one call of a traced ``tf.function`` (static shapes), from its convolution and matmul ops."""
    return sum(op_flops(op) for op in live_ops(concrete_function.graph))


def dcgan_iteration_flops(generator, discriminator, batch_size: int) -> int:
    """One ConditionalDCGAN.train_step: 4 F_G + 8 F_D (see the module docstring)."""
    f_g, f_d = forward_flops(generator), forward_flops(discriminator)
    return batch_size * (4 * f_g + 8 * f_d)


def wgan_gp_iteration_flops(generator, critic, batch_size: int, n_critic: int) -> int:
    """One ConditionalWGANGP.train_step: (n_critic + 3) F_G + (12 n_critic + 2) F_D."""
    f_g, f_d = forward_flops(generator), forward_flops(critic)
    return batch_size * ((n_critic + 3) * f_g + (12 * n_critic + 2) * f_d)
