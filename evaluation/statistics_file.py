"""FID's real side as a file: ``mu`` and ``sigma`` in the reference implementation's ``.npz`` format.

Published FIDs compare samples with statistics computed once from a fixed
real set (for CIFAR-10, its 50,000 training images). TTUR's files hold only
``mu`` (d,) and ``sigma`` (d, d); the files written here add what the
figure depends on (the network, the real set, the image size, the count) so
that statistics from one network are never compared with features of
another. Both read back.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from base.errors import UserError, first_line

METADATA = ("network", "source", "image_size", "count")  # optional keys beside mu and sigma
SYMMETRY_TOLERANCE = 1e-6  # of sigma's largest entry: round-off, not a different matrix


def write_statistics(path, mu, sigma, **metadata) -> Path:
    """Write ``mu``, ``sigma`` and the metadata atomically (a crash leaves the old file or none)."""
    mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
    check_moments(mu, sigma, str(path))
    unknown = set(metadata) - set(METADATA)
    if unknown:
        raise ValueError(f"unknown metadata {sorted(unknown)}; known: {METADATA}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    extra = {key: np.asarray(value) for key, value in metadata.items() if value is not None}
    np.savez(tmp, mu=mu, sigma=sigma, **extra)
    os.replace(tmp, path)
    return path


def read_statistics(path, feature_dim: int | None = None, network: str | None = None) -> dict:
    """``{"mu", "sigma", "network", "source", "image_size", "count"}`` (None where the file is silent).

    Refuses, with one line: a file that is not an ``.npz``, one without
    ``mu`` or ``sigma``, shapes that do not agree with each other or with
    ``feature_dim``, a sigma that is not symmetric or not finite, and a file
    that names a network other than ``network``.
    """
    try:
        with np.load(path, allow_pickle=False) as stored:
            contents = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise UserError(f"--fid-stats {path} is not a readable .npz statistics file ({first_line(error)})") from None
    missing = [key for key in ("mu", "sigma") if key not in contents]
    if missing:
        held = ", ".join(contents) or "nothing"
        raise UserError(f"--fid-stats {path} has no {' or '.join(missing)} (it holds: {held})")
    mu, sigma = contents["mu"].astype(np.float64), contents["sigma"].astype(np.float64)
    check_moments(mu, sigma, f"--fid-stats {path}")
    if feature_dim is not None and len(mu) != feature_dim:
        raise UserError(
            f"--fid-stats {path} holds {len(mu)}-d statistics but the network gives {feature_dim}-d features"
        )
    record = {key: scalar(contents.get(key)) for key in METADATA}
    if network is not None and record["network"] is not None and record["network"] != network:
        raise UserError(
            f"--fid-stats {path} was computed with {record['network']}, not with {network}: "
            "a Frechet distance across two networks means nothing"
        )
    return {"mu": mu, "sigma": sigma, **record}


def check_moments(mu, sigma, where: str) -> None:
    """One-line errors for moments that cannot be a mean and a covariance."""
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise UserError(f"{where}: mu {mu.shape} and sigma {sigma.shape} must be (d,) and (d, d)")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise UserError(f"{where}: mu or sigma holds NaN or infinity")
    scale = max(float(np.abs(sigma).max()), 1e-30)
    if float(np.abs(sigma - sigma.T).max()) > SYMMETRY_TOLERANCE * scale:
        raise UserError(f"{where}: sigma is not symmetric, so it is not a covariance")


def scalar(value):
    """A stored 0-d array as a plain Python value (str or number); None stays None."""
    if value is None:
        return None
    return value.item() if value.ndim == 0 else value.tolist()
