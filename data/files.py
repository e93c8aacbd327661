"""Indexing image-file datasets: the ArtGAN WikiArt layout and plain class folders.

Indexing only lists ``(path, label)`` pairs and class names in a
deterministic order; decoding happens in :mod:`data.images`.

The split CSVs are read as they come: UTF-8, or Windows-1252 for a line
that is not (a spreadsheet's export), said with the file and the first such
line. A listed name that is not on disk is looked for under Unicode
normalisation (NFC against a macOS unzip's NFD) and under the archive's own
mojibake: ArtGAN's CSVs spell 709 names as their UTF-8 bytes read as
Latin-1 and lower-cased (``grã©goire`` for ``grégoire``), which an unzip
that spells them right does not have. A match is taken only when it is the
only one, and counted. A row's class is its folder; a row whose label says
otherwise is counted, and a painting listed twice is counted once.
"""

from __future__ import annotations

import codecs
import csv
import logging
import os
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from base.errors import UserError
from data.cache import printable
from data.images import is_image_file

log = logging.getLogger(__name__)

WIKIART_SPLITS = ("train", "val", "all")


@dataclass
class FileIndex:
    paths: list[str]
    labels: list[int]
    class_names: list[str]
    notes: list[str] = field(default_factory=list)


WIKIART_SOURCE = (
    "get the ArtGAN WikiArt archive (wikiart.zip) and style_class.txt, style_train.csv and style_val.csv "
    "from github.com/cs-chan/ArtGAN ('WikiArt Dataset/Style/'); unpack them into one folder laid out as "
    "<folder>/<Style>/<painting>.jpg with the three files beside the style folders"
)


def keras_home() -> Path:
    """Keras's own folder for downloads: ``$KERAS_HOME``, else ~/.keras (as Keras's downloaders use)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def default_wikiart_dir() -> Path:
    """Where WikiArt is looked for without --data-dir: beside Keras's MNIST and CIFAR-10 downloads."""
    return keras_home() / "datasets" / "wikiart"


def require_dir(data_dir: str | None, dataset: str) -> Path:
    if not data_dir and dataset == "wikiart":
        return wikiart_without_data_dir()
    if not data_dir:
        raise UserError(f"--data-dir is required for --dataset {dataset}")
    root = Path(data_dir)
    if not root.is_dir():
        raise UserError(f"--data-dir {data_dir} is not a directory")
    return root


def wikiart_without_data_dir() -> Path:
    """The default folder when it holds anything; otherwise two lines: where to look, and where to get it."""
    root = default_wikiart_dir()
    if root.is_dir() and any(not entry.name.startswith(".") for entry in os.scandir(root)):
        log.info("--dataset wikiart without --data-dir: reading %s", root)
        return root
    raise UserError(f"--dataset wikiart: no --data-dir given and nothing in {root} (KERAS_HOME/datasets/wikiart)\n"
                    f"{WIKIART_SOURCE}")  # fmt: skip


def keep_classes_with_images(order: list[str], counts: Counter, where, kind: str = "class") -> list[str]:
    """One policy for every layout: a class with no images is skipped with a warning; fewer than 2 left stops.

    Users keep empty or not-yet-filled class folders, and a partial WikiArt
    download leaves most styles empty: neither should stop a run.
    """
    kept = [name for name in order if counts[name] > 0]
    empty = [name for name in order if counts[name] == 0]
    if len(kept) < 2:
        listed = f" (empty: {', '.join(empty)})" if empty else ""
        raise UserError(f"{where}: {counted(len(kept), kind)} with images; a conditional GAN needs 2 or more{listed}")
    if empty:
        log.warning("%s: skipped %s with no images (%s); training on %s",
                    where, counted(len(empty), kind), ", ".join(empty), counted(len(kept), kind))  # fmt: skip
    return kept


def counted(count: int, kind: str) -> str:
    return f"{count} {kind}" if count == 1 else f"{count} {kind}{'es' if kind.endswith('s') else 's'}"


def read_lines(path: Path) -> list[str]:
    """A text file's lines: UTF-8 (a byte-order mark ignored), or Windows-1252 for a line that is not UTF-8.

    A spreadsheet saves its CSVs in the machine's code page; rather than stop
    at the first accented name, such lines are read as Windows-1252 (Latin-1
    for its five unassigned bytes) and a warning names the file and the first one.
    """
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    lines, fallback = [], []
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            fallback.append(number)
            try:
                lines.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                lines.append(line.decode("latin-1"))
    if fallback:
        log.warning("%s: %d lines are not UTF-8 (the first: line %d); read as Windows-1252",
                    path, len(fallback), fallback[0])  # fmt: skip
    return lines


def read_class_list(path: Path) -> dict[int, str]:
    """``<idx> <Name>`` per line (ArtGAN's style_class.txt)."""
    names = {}
    for number, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[0].isdigit():
            raise UserError(f"{path}:{number}: expected '<index> <Name>', got {line.strip()!r}")
        names[int(parts[0])] = parts[1]
    return names


def name_keys(name: str) -> set[str]:
    """What a file name on disk may be listed as: its NFC form, and the archive's mojibake of it, lower-cased."""
    text = unicodedata.normalize("NFC", name)
    keys = {text.lower()}
    for codec in ("latin-1", "cp1252"):
        try:
            keys.add(text.encode("utf-8").decode(codec).lower())
        except UnicodeDecodeError:
            pass
    return keys


class NameMatcher:
    """Finds a listed ``Style/name`` on disk, exactly or, when it is the only candidate, under normalisation."""

    def __init__(self, root: Path):
        self.root = root
        self.folders: dict[str, dict[str, set[str]]] = {}
        self.repaired: list[tuple[str, str]] = []
        self.ambiguous = 0

    def find(self, relative: str) -> str | None:
        if (self.root / relative).is_file():
            return relative
        folder, _, name = relative.rpartition("/")
        candidates = self._folder(folder).get(unicodedata.normalize("NFC", name).lower(), set())
        if len(candidates) == 1:
            (found,) = candidates
            self.repaired.append((relative, found))
            return f"{folder}/{found}" if folder else found
        self.ambiguous += len(candidates) > 1
        return None

    def _folder(self, folder: str) -> dict[str, set[str]]:
        if folder not in self.folders:
            names, directory = defaultdict(set), self.root / folder
            if directory.is_dir():
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if is_image_file(entry.name):
                            for key in name_keys(entry.name):
                                names[key].add(entry.name)
            self.folders[folder] = names
        return self.folders[folder]

    def note(self) -> str:
        if not self.repaired and not self.ambiguous:
            return ""
        parts = []
        if self.repaired:
            listed, found = self.repaired[0]
            parts.append(f"{len(self.repaired)} names matched after Unicode normalisation or the archive's mojibake "
                         f"repair (e.g. {printable(listed)} -> {printable(found)})")  # fmt: skip
        if self.ambiguous:
            parts.append(f"{self.ambiguous} names left unmatched, as they fit several files")
        return "; ".join(parts)


def _read_split_rows(csv_path: Path, matcher: NameMatcher, known_labels: set[int] | None):
    """Rows ``relative/path.jpg,idx``; returns usable rows and counts of the others."""
    rows, missing, malformed, out_of_range = [], 0, 0, 0
    for record in csv.reader(read_lines(csv_path)):
        if not record or not "".join(record).strip():
            continue
        if len(record) != 2 or not record[1].strip().lstrip("-").isdigit():
            malformed += 1
            continue
        relative, label = record[0].strip(), int(record[1])
        if known_labels is not None and label not in known_labels:
            out_of_range += 1
            continue
        found = matcher.find(relative)
        if found is None:
            missing += 1
            continue
        rows.append((found, label))
    return rows, {"missing": missing, "malformed": malformed, "label out of range": out_of_range}


def _csv_rows(root: Path, split: str, known_labels):
    """Usable ``(relative path, folder label)`` rows of the split's CSVs, each painting once, and the notes."""
    names = ["train", "val"] if split == "all" else [split]
    csv_paths = [root / f"style_{name}.csv" for name in names]
    present = [path for path in csv_paths if path.is_file()]
    if not present:
        return None, []
    rows, notes = [], []
    for path in present:
        matcher = NameMatcher(root)
        usable, dropped = _read_split_rows(path, matcher, known_labels)
        rows.extend(usable)
        counts = ", ".join(f"{n} {what}" for what, n in dropped.items() if n)
        note = f"{path.name}: {len(usable)} rows usable" + (f"; skipped {counts}" if counts else "")
        notes.append(note + (f"; {matcher.note()}" if matcher.note() else ""))
    rows, more = _one_row_per_painting(rows)
    return rows, notes + more


def _one_row_per_painting(rows):
    """Each painting once, labelled by its folder (the label most of the folder's rows give).

    A painting listed twice, or under a label its folder's other rows do not
    give, would otherwise be counted twice or in the wrong style's order.
    """
    votes = defaultdict(Counter)
    for relative, label in rows:
        votes[_style_of(relative)][label] += 1
    folder_label = {style: min(c, key=lambda label: (-c[label], label)) for style, c in votes.items()}
    seen, kept, disagreeing, duplicates = set(), [], [], 0
    for relative, label in rows:
        if relative in seen:
            duplicates += 1
            continue
        seen.add(relative)
        style = _style_of(relative)
        if label != folder_label[style]:
            disagreeing.append((relative, label, folder_label[style]))
        kept.append((relative, folder_label[style]))
    notes = []
    if disagreeing:
        relative, label, majority = disagreeing[0]
        notes.append(f"{len(disagreeing)} rows labelled by their folder, whose other rows give another label "
                     f"(the first: {printable(relative)} says {label}, its folder {majority})")  # fmt: skip
    if duplicates:
        notes.append(f"{duplicates} rows name a painting listed before: counted once")
    return kept, notes


def _style_of(relative: str) -> str:
    parts = Path(relative).parts
    return parts[0] if len(parts) > 1 else ""


def class_folders(root: Path) -> list[str]:
    return sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith("."))


def _scan_class_folders(root: Path):
    """``(relative path, class folder)`` for every image under each class folder."""
    found = []
    for class_name in class_folders(root):
        for folder, dirs, files in os.walk(root / class_name):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if is_image_file(name):
                    found.append((os.path.relpath(os.path.join(folder, name), root), class_name))
    return found


def labelled_index(root: Path, items, order: list[str], notes=None) -> FileIndex:
    """``(relative path, class name)`` pairs -> labels by position in ``order``; other classes dropped."""
    position = {name: index for index, name in enumerate(order)}
    kept = [(path, name) for path, name in items if name in position]
    return FileIndex(
        paths=[str(root / path) for path, _ in kept],
        labels=[position[name] for _, name in kept],
        class_names=order,
        notes=notes or [],
    )


def keep_top_classes(labels_by_name: list[str], k: int, order: list[str]) -> list[str]:
    """The k most frequent class names (ties broken by ``order``), returned in ``order``."""
    if k > len(order):
        raise UserError(f"--top-styles {k} is larger than the {len(order)} styles present")
    counts = Counter(labels_by_name)
    ranked = sorted(order, key=lambda name: (-counts[name], order.index(name)))
    kept = set(ranked[:k])
    return [name for name in order if name in kept]


def index_wikiart(data_dir: str | None, split: str = "train", top_styles: int | None = None) -> FileIndex:
    """The ArtGAN WikiArt layout, with or without its class list and split CSVs.

    Labels are remapped to 0..K-1 over the styles that have images, ordered by
    their ArtGAN index (sorted folder names without CSVs); names are the
    folder names (ArtGAN's list says Art_Nouveau, its folder Art_Nouveau_Modern).
    """
    root = require_dir(data_dir, "wikiart")
    if split not in WIKIART_SPLITS:
        raise UserError(f"unknown wikiart split {split!r}; choose one of {', '.join(WIKIART_SPLITS)}")
    class_file = root / "style_class.txt"
    known = read_class_list(class_file) if class_file.is_file() else None
    rows, notes = _csv_rows(root, split, set(known) if known else None)
    if rows is None:
        notes = [f"no style_{split}.csv in {root}: using every image in the style folders"]
        items = _scan_class_folders(root)
        order = class_folders(root)
    else:
        label_of = dict((_style_of(relative), label) for relative, label in rows)
        unseen = [name for index, name in sorted((known or {}).items()) if index not in set(label_of.values())]
        order = sorted(label_of, key=lambda style: (label_of[style], style)) + unseen
        items = [(relative, _style_of(relative)) for relative, _ in rows]
    if not items:
        raise UserError(f"no usable images found in {root} (checked the style folders and split CSVs)")
    order = keep_classes_with_images(order, Counter(style for _, style in items), root, "style")
    if top_styles is not None:
        order = keep_top_classes([style for _, style in items], top_styles, order)
        notes.append(f"--top-styles {top_styles}: kept {', '.join(order)}")
    return labelled_index(root, items, order, notes)


def index_folder(data_dir: str | None) -> FileIndex:
    """Any ``<class>/<image>`` tree; class order from ``classes.txt`` when present, else sorted."""
    root = require_dir(data_dir, "folder")
    scanned = _scan_class_folders(root)
    folders = class_folders(root)
    class_file = root / "classes.txt"
    if class_file.is_file():
        order = [line.strip() for line in read_lines(class_file) if line.strip()]
        unknown = [name for name in order if name not in folders]
        if unknown:
            raise UserError(f"{class_file} names folders that do not exist: {', '.join(unknown)}")
    else:
        order = folders
    if not order:
        raise UserError(f"no class folders in {root}: expected <class>/<image> subfolders")
    order = keep_classes_with_images(order, Counter(name for _, name in scanned), root)
    return labelled_index(root, scanned, order)
