"""pytorch-fid's .pth port, read without PyTorch: both file layouts, the network against Keras's InceptionV3."""

import pickle
import re

import numpy as np
import pytest

from base.errors import UserError
from evaluation.inception import identify, load_network
from evaluation.inception_port import CLASSES, build_port, expected_tensors, preprocess
from evaluation.torch_file import read_torch_file
from tests import synthetic_inception, torch_writer

KERAS_NOTOP_PARAMETERS = 21_802_784  # keras.applications.InceptionV3(include_top=False): checked below too


@pytest.fixture(scope="module")
def expected():
    return expected_tensors()


def small_state(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "conv.weight": rng.normal(size=(4, 3, 2, 2)).astype(np.float32),
        "fc.weight": rng.normal(size=(5, 7)).astype(np.float32),
        "bn.num_batches_tracked": np.array(123, np.int64),
    }


@pytest.mark.parametrize("save", [torch_writer.save_zip, torch_writer.save_legacy])
def test_both_layouts_read_back_exactly_with_strided_views(tmp_path, save):
    state = small_state()
    path = save(tmp_path / "weights.pth", state, transpose=("fc.weight",))  # fc stored transposed, as a view
    assert identify(path) == "torch"
    back = read_torch_file(path)
    assert list(back) == list(state)
    for name, value in state.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        np.testing.assert_array_equal(back[name], value)


def test_a_pickle_that_names_other_globals_is_refused_without_running_them(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, handle, protocol=2)
        handle.write(b"cos\nsystem\n(S'touch " + str(tmp_path / "ran").encode() + b"'\ntR.")
    with pytest.raises(UserError, match="refusing os.system: not part of a state dict"):
        read_torch_file(path)
    assert not (tmp_path / "ran").exists()


def test_a_truncated_or_foreign_file_is_one_line(tmp_path):
    whole = torch_writer.save_legacy(tmp_path / "w.pth", small_state()).read_bytes()
    (tmp_path / "cut.pth").write_bytes(whole[:-20])
    with pytest.raises(UserError, match="is cut short: the file is truncated") as error:
        read_torch_file(tmp_path / "cut.pth")
    assert "\n" not in str(error.value)
    import zipfile

    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(UserError, match="a zip without data.pkl"):
        read_torch_file(tmp_path / "other.zip")
    (tmp_path / "magic.pth").write_bytes(pickle.dumps(42, protocol=2) + bytes(30))
    with pytest.raises(UserError, match="wrong magic number"):
        read_torch_file(tmp_path / "magic.pth")


def test_the_port_asks_for_pytorch_fids_names_and_the_keras_networks_shapes(expected):
    import keras

    assert len(expected) == 94 * 5 + 1  # 94 conv + BatchNorm blocks, then the classifier
    known = {  # names and shapes of torchvision's Inception3, as in pt_inception-2015-12-05-6726825d.pth
        "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
        "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
        "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
        "Mixed_7a.branch3x3_2.conv.weight": (320, 192, 3, 3),
        "Mixed_7c.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
        "Mixed_7c.branch_pool.bn.running_var": (192,),
        "fc.weight": (CLASSES, 2048),
    }
    assert {name: expected[name] for name in known} == known
    gammas = sum(shape[0] for name, shape in expected.items() if name.endswith(".bn.weight"))
    total = sum(int(np.prod(shape)) for shape in expected.values())
    assert keras.applications.InceptionV3(weights=None, include_top=False).count_params() == KERAS_NOTOP_PARAMETERS
    assert total - gammas - CLASSES * 2048 == KERAS_NOTOP_PARAMETERS  # Keras's BatchNorm has no scale


def keras_layers_in_creation_order(model, kind):
    """Keras names unnamed layers conv2d, conv2d_1, ...: the numbers give the order of creation."""
    layers = [layer for layer in model.layers if isinstance(layer, kind)]
    return sorted(layers, key=lambda layer: int(re.search(r"_(\d+)$", layer.name).group(1)) if "_" in layer.name else 0)


def test_the_port_computes_what_keras_inceptionv3_does_with_the_same_weights(tmp_path, expected):
    """Keras's InceptionV3 is an independent build of the same network up to its last block (Mixed_7b = mixed9)."""
    import keras

    reference = keras.applications.InceptionV3(weights=None, include_top=False)
    rng = np.random.default_rng(0)
    convs = keras_layers_in_creation_order(reference, keras.layers.Conv2D)
    norms = keras_layers_in_creation_order(reference, keras.layers.BatchNormalization)
    names = [name.removesuffix(".conv.weight") for name in expected if name.endswith(".conv.weight")]
    assert len(convs) == len(norms) == len(names) == 94
    state = {}
    for name, conv, norm in zip(names, convs, norms, strict=True):
        channels = conv.filters
        beta, mean, var = (rng.normal(0, 0.1, channels), rng.normal(0, 0.1, channels), rng.uniform(0.5, 2, channels))
        norm.set_weights([beta, mean, var])
        state[f"{name}.conv.weight"] = conv.get_weights()[0].transpose(3, 2, 0, 1)  # HWIO -> OIHW
        for part, value in zip(("weight", "bias", "running_mean", "running_var"), (np.ones(channels), beta, mean, var),
                               strict=True):  # fmt: skip
            state[f"{name}.bn.{part}"] = value.astype(np.float32)
        state[f"{name}.bn.num_batches_tracked"] = np.array(0, np.int64)
    state["fc.weight"] = rng.normal(0, 0.01, (CLASSES, 2048)).astype(np.float32)
    state["fc.bias"] = rng.normal(0, 1, CLASSES).astype(np.float32)
    path = torch_writer.save_zip(tmp_path / "pt_inception-random.pth", state)
    port = build_port(read_torch_file(path))
    images = rng.uniform(-1, 1, (2, 299, 299, 3)).astype(np.float32)
    ours = keras.Model(port.input, port.get_layer("Mixed_7b.concat").output)(images)
    theirs = keras.Model(reference.input, reference.get_layer("mixed9").output)(images)
    scale = float(np.abs(theirs).max())
    np.testing.assert_allclose(np.asarray(ours) / scale, np.asarray(theirs) / scale, atol=2e-4)
    assert isinstance(port.get_layer("Mixed_7c.pool"), keras.layers.MaxPooling2D)  # the 2015 graph's last block
    assert isinstance(port.get_layer("Mixed_7b.pool"), keras.layers.AveragePooling2D)
    network = load_network(path)
    assert network.kind == "pytorch-fid-port" and network.family == "inception-2015" and network.comparable_with_papers
    features, probabilities = network.run(rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32))
    assert features.shape == (2, 2048) and np.all(features >= 0) and probabilities.shape == (2, CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_a_file_with_other_tensors_is_refused_in_one_line(tmp_path, expected):
    state = {name: np.zeros(shape, np.float32) for name, shape in expected.items()}
    state["Mixed_5b.branch1x1.conv.weight"] = np.zeros((63, 192, 1, 1), np.float32)
    path = torch_writer.save_zip(tmp_path / "wrong.pth", state)
    with pytest.raises(UserError, match=r"Mixed_5b.branch1x1.conv.weight has shape \(63, 192, 1, 1\)") as error:
        load_network(path)
    assert "\n" not in str(error.value)
    del state["Mixed_5b.branch1x1.conv.weight"]
    with pytest.raises(UserError, match="has no tensor Mixed_5b.branch1x1.conv.weight"):
        load_network(torch_writer.save_legacy(tmp_path / "missing.pth", state))


def test_the_pools_leave_the_padding_out_at_the_borders():
    import keras

    constant = np.full((1, 5, 5, 2), -3.0, np.float32)
    average = keras.layers.AveragePooling2D(3, 1, "same")(constant)
    maximum = keras.layers.MaxPooling2D(3, 1, "same")(constant)
    np.testing.assert_allclose(np.asarray(average), constant)  # padding counted would pull corners to -3 * 4 / 9
    np.testing.assert_allclose(np.asarray(maximum), constant)  # zero padding would lift every border to 0


def test_the_resize_is_tensorflow_1s_at_the_borders_and_maps_128_to_0():
    pixels = np.random.default_rng(1).integers(0, 256, (2, 5, 7, 3)).astype(np.float32)
    ours = np.asarray(preprocess(pixels))
    expected = (synthetic_inception.legacy_resize(pixels.astype(np.float64), 299) - 128.0) / 128.0
    assert ours.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    np.testing.assert_allclose(ours[:, 0, 0], (pixels[:, 0, 0] - 128) / 128, atol=1e-6)  # no half-pixel shift
