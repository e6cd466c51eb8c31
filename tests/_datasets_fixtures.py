"""Miniature datasets in the exact on-disk format of each loader's real source.

Each ``build_<loader>(root)`` writes a tiny copy of the source's files under ``root`` (the
task's data folder) and returns an :class:`Expect`: the task stand-in to pass to the loader,
the load options, and the labels each split must yield (in order). Nothing here touches the
network.
"""

from __future__ import annotations

import csv
import gzip
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# ----------------------------------------------------------------------------- helpers


@dataclass
class FakeTask:
    """The attributes of ``bench.tasks.Task`` that loaders read."""

    name: str
    classnames: tuple[str, ...] = ()
    num_classes: int | None = None
    imagenet_pool: tuple[tuple[int, ...], ...] | None = None
    source: Any = None

    def __post_init__(self) -> None:
        if self.num_classes is None and self.classnames:
            self.num_classes = len(self.classnames)


@dataclass
class Expect:
    task: FakeTask
    labels: dict[str, list[Any]]
    options: dict[str, Any] = field(default_factory=dict)
    check: Callable[[Path, Any], None] | None = None  # extra checks on a loaded split


def color(i: int) -> tuple[int, int, int]:
    """A distinct solid colour per index (so an image identifies its item)."""
    return ((37 * i + 20) % 256, (91 * i + 40) % 256, (53 * i + 60) % 256)


def save_image(path: Path, i: int = 0, size: tuple[int, int] = (8, 8), mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, color(i))
    if mode != "RGB":
        image = image.convert(mode)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".ppm": "PPM"}[path.suffix.lower()]
    image.save(path, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_video(path: Path, values: list[int], size: int = 16) -> Path:
    """A clip whose frame k is a solid grey of ``values[k]`` (mpeg4 in .avi / .mp4)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for v in values:
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), v, np.uint8), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class Py2BatchPickler(pickle.Pickler):
    """Pickles as the official CIFAR batches are (Python 2 cPickle, protocol 2): an ndarray's
    raw bytes as a latin-1 ``str``, so the only globals are numpy's ``_reconstruct``,
    ``ndarray`` and ``dtype`` (Python 3 would add ``_codecs.encode`` for bytes)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            raw = obj.tobytes().decode("latin1")
            state = (1, obj.shape, obj.dtype, False, raw)
            return np._core.multiarray._reconstruct, (np.ndarray, (0,), "b"), state
        if isinstance(obj, np.dtype):
            return np.dtype, (obj.str[1:], False, True), (3, "|", None, None, None, -1, -1, 0)
        return NotImplemented


# ----------------------------------------------------------------------------- builders


def build_cifar(root: Path) -> Expect:
    folder = root / "cifar-10-batches-py"
    labels: dict[str, list[int]] = {"train": [], "test": []}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, name in enumerate(names):
        lab = [(b + j) % 10 for j in range(2)]
        # Each row: 1024 red, 1024 green, 1024 blue values (row-major 32x32).
        data = np.zeros((2, 3072), np.uint8)
        for j in range(2):
            for c in range(3):
                data[j, c * 1024 : (c + 1) * 1024] = color(b * 2 + j)[c]
        batch = {"batch_label": name, "labels": lab, "data": data, "filenames": ["x.png"] * 2}
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / name, "wb") as f:
            Py2BatchPickler(f, protocol=2).dump(batch)
        labels["test" if name == "test_batch" else "train"].extend(lab)

    def check(_: Path, ds: Any) -> None:
        image, _label = ds[1]
        assert image.size == (32, 32) and image.getpixel((5, 7)) in (color(1), color(11))

    return Expect(FakeTask("cifar10", num_classes=10), labels, {"variant": "cifar10"}, check)


def build_food101(root: Path) -> Expect:
    base = root / "food-101"
    classes = ["apple_pie", "baby_back_ribs", "baklava"]
    write(base / "meta" / "classes.txt", "\n".join(classes) + "\n")
    listing = {"train": {}, "test": {}}
    labels: dict[str, list[int]] = {"train": [], "test": []}
    for k, cls in enumerate(classes):
        for split, ids in (("train", [f"{100 + k}", f"{200 + k}"]), ("test", [f"{300 + k}"])):
            listing[split][cls] = [f"{cls}/{i}" for i in ids]
            for i in ids:
                save_image(base / "images" / cls / f"{i}.jpg", int(i))
            labels[split].extend([k] * len(ids))
    for split in listing:
        write(base / "meta" / f"{split}.json", json.dumps(listing[split]))
    return Expect(FakeTask("food101", num_classes=3), labels)


def build_sun397(root: Path) -> Expect:
    classes = ["/a/abbey", "/b/bakery/shop", "/z/zoo"]
    write(root / "SUN397" / "ClassName.txt", "\n".join(classes) + "\n")
    lines = {"train": [], "test": []}
    labels: dict[str, list[int]] = {"train": [], "test": []}
    n = 0
    for k, cls in enumerate(classes):
        for split in ("train", "test", "test"):
            rel = f"{cls}/sun_{n:04d}.jpg"
            save_image(root / "SUN397" / rel.lstrip("/"), n)
            lines[split].append(rel)
            labels[split].append(k)
            n += 1
    write(root / "Partitions" / "Training_01.txt", "\n".join(lines["train"]) + "\n")
    write(root / "Partitions" / "Testing_01.txt", "\n".join(lines["test"]) + "\n")
    return Expect(FakeTask("sun397", num_classes=3), labels)


def build_fgvc_aircraft(root: Path) -> Expect:
    data = root / "fgvc-aircraft-2013b" / "data"
    variants = ["707-320", "A340-500", "F/A-18", "Tu-154"]
    write(data / "variants.txt", "\n".join(variants) + "\n")
    labels: dict[str, list[int]] = {}
    n = 1000000
    for split, picks in (("train", [0, 2, 3]), ("val", [1, 2]), ("test", [3, 0])):
        rows = []
        for k in picks:
            save_image(data / "images" / f"{n}.jpg", n % 50)
            rows.append(f"{n} {variants[k]}")
            n += 1
        write(data / f"images_variant_{split}.txt", "\n".join(rows) + "\n")
        labels[split] = picks
    return Expect(FakeTask("fgvc_aircraft", num_classes=4), labels)


VOC_PAPER = (
    "aeroplane bicycle bird boat bottle bus car cat chair cow dog horse motorbike person sheep "
    "sofa diningtable pottedplant train tvmonitor"
).split()


def _voc_xml(objects: list[tuple[str, int]]) -> str:
    parts = "".join(
        f"<object><name>{n}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>{d}</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>"
        f"<ymax>5</ymax></bndbox></object>"
        for n, d in objects
    )
    return (
        "<annotation><folder>VOC2007</folder><filename>x.jpg</filename>"
        f"<size><width>8</width><height>8</height><depth>3</depth></size>{parts}</annotation>"
    )


def build_voc2007(root: Path) -> Expect:
    import torch

    base = root / "VOCdevkit" / "VOC2007"
    images = {
        "train": {"000005": [("chair", 0), ("chair", 1), ("diningtable", 0)]},
        "val": {"000007": [("car", 0)], "000009": [("horse", 0), ("person", 1)]},
        "test": {"000001": [("dog", 0), ("person", 0)]},
    }
    labels: dict[str, list[Any]] = {}
    for split, items in images.items():
        rows = []
        for n, (image_id, objects) in enumerate(items.items()):
            write(base / "Annotations" / f"{image_id}.xml", _voc_xml(objects))
            save_image(base / "JPEGImages" / f"{image_id}.jpg", n)
            row = torch.zeros(20)
            for name, difficult in objects:
                if not difficult:
                    row[VOC_PAPER.index(name)] = 1
            rows.append(row)
        write(base / "ImageSets" / "Main" / f"{split}.txt", "\n".join(items) + "\n")
        labels[split] = rows

    def check(_: Path, ds: Any) -> None:
        if len(ds) == 2:  # val: 000009 has a difficult-only person
            assert bool(ds.difficult[1, VOC_PAPER.index("person")])
            assert not bool(ds.difficult[1, VOC_PAPER.index("horse")])

    return Expect(FakeTask("voc2007", tuple(VOC_PAPER)), labels, check=check)


def build_dtd(root: Path) -> Expect:
    base = root / "dtd"
    classes = ["banded", "blotchy", "zigzagged"]
    labels: dict[str, list[int]] = {}
    n = 0
    for split in ("train", "val", "test"):
        rows = []
        for cls in classes:
            save_image(base / "images" / cls / f"{cls}_{n:04d}.jpg", n)
            rows.append(f"{cls}/{cls}_{n:04d}.jpg")
            n += 1
        write(base / "labels" / f"{split}1.txt", "\n".join(rows) + "\n")
        labels[split] = [0, 1, 2]
    return Expect(FakeTask("dtd", num_classes=3), labels)


def build_oxford_pets(root: Path) -> Expect:
    base = root / "oxford-iiit-pet"
    rows = {
        "train": [("Abyssinian_100", 1), ("yorkshire_terrier_3", 37)],
        "test": [("american_bulldog_10", 2)],
    }
    lists = {"train": "trainval.txt", "test": "test.txt"}
    for split, items in rows.items():
        text = "#Image CLASS-ID SPECIES BREED ID\n" + "".join(
            f"{name} {cid} {1 + (cid > 12)} {cid}\n" for name, cid in items
        )
        write(base / "annotations" / lists[split], text)
        for n, (name, _) in enumerate(items):
            save_image(base / "images" / f"{name}.jpg", n)
    labels = {s: [c - 1 for _, c in items] for s, items in rows.items()}
    return Expect(FakeTask("oxford_pets", num_classes=37), labels)


def build_caltech101(root: Path) -> Expect:
    base = root / "101_ObjectCategories"
    classes = ["BACKGROUND_Google", "Faces", "accordion"]
    for k, cls in enumerate(classes):
        for i in range(1, 5 + k):
            save_image(base / cls / f"image_{i:04d}.jpg", k * 10 + i, size=(4, 4))
    # 2 per class for train (option), the rest (2, 3, 4) for test.
    return Expect(
        FakeTask("caltech101", num_classes=3),
        {"train": [0, 0, 1, 1, 2, 2], "test": [0, 0, 1, 1, 1, 2, 2, 2, 2]},
        {"train_per_class": 2},
    )


def build_flowers102(root: Path) -> Expect:
    from scipy.io import savemat

    base = root / "flowers-102"
    image_labels = [5, 1, 102, 5, 7, 1]  # 1-based labels of image_00001..00006
    for i in range(1, 7):
        save_image(base / "jpg" / f"image_{i:05d}.jpg", i)
    savemat(base / "imagelabels.mat", {"labels": np.array([image_labels])})
    ids = {"trnid": [2, 5], "valid": [1], "tstid": [6, 3, 4]}
    savemat(base / "setid.mat", {k: np.array([v]) for k, v in ids.items()})
    split_of = {"train": "trnid", "val": "valid", "test": "tstid"}
    labels = {s: [image_labels[i - 1] - 1 for i in ids[k]] for s, k in split_of.items()}
    return Expect(FakeTask("flowers102", num_classes=102), labels)


def _idx(data: np.ndarray) -> bytes:
    header = (0x0800 | data.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in data.shape)
    return header + data.astype(np.uint8).tobytes()


def build_mnist(root: Path) -> Expect:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    labels = {"train": [3, 1, 4], "test": [1, 5]}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        n = len(labels[split])
        images = np.zeros((n, 28, 28), np.uint8)
        images[:, 10:18, 10:18] = 255
        (raw / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(np.array(labels[split])))

    def check(_: Path, ds: Any) -> None:
        image, _ = ds[0]
        assert image.mode == "RGB" and image.getpixel((12, 12)) == (255, 255, 255)

    return Expect(FakeTask("mnist", num_classes=10), labels, check=check)


def build_fer2013(root: Path) -> Expect:
    path = root / "fer2013" / "fer2013.csv"
    path.parent.mkdir(parents=True)
    rows = [(0, "Training"), (3, "Training"), (6, "PublicTest"), (4, "PrivateTest")]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["emotion", "pixels", "Usage"])
        for i, (emotion, usage) in enumerate(rows):
            writer.writerow(
                [emotion, " ".join(str((i * 40 + j) % 256) for j in range(2304)), usage]
            )
    return Expect(FakeTask("fer2013", num_classes=7), {"train": [0, 3], "val": [6], "test": [4]})


def build_stl10(root: Path) -> Expect:
    base = root / "stl10_binary"
    base.mkdir(parents=True)
    labels = {"train": [1, 2, 3, 4], "test": [10, 5]}
    for split, lab in labels.items():
        x = np.zeros((len(lab), 3, 96, 96), np.uint8)
        x[:, 0, 5, 0] = 200  # stored column-major: [c, x=5, y=0] is pixel (x=5, y=0)
        x.tofile(base / f"{split}_X.bin")
        np.array(lab, np.uint8).tofile(base / f"{split}_y.bin")
    write(base / "fold_indices.txt", "3 0\n1 2\n")

    def check(_: Path, ds: Any) -> None:
        image, _ = ds[0]
        assert image.getpixel((5, 0))[0] == 200 and image.getpixel((0, 5))[0] == 0

    return Expect(
        FakeTask("stl10", num_classes=10),
        {"train": [0, 1, 2, 3], "test": [9, 4]},
        check=check,
    )


EUROSAT_PAPER = (
    "forest",
    "permanent crop land",
    "residential buildings or homes or apartments",
    "river",
    "pasture land",
    "lake or sea",
    "brushland or shrubland",
    "annual crop land",
    "industrial buildings or commercial buildings",
    "highway or road",
)


def build_eurosat(root: Path) -> Expect:
    from bench.datasets.eurosat import PAPER_NAMES

    folders = sorted(PAPER_NAMES)
    for k, folder in enumerate(folders):
        for i in range(1, 5):
            save_image(root / "2750" / folder / f"{folder}_{i}.jpg", k, size=(4, 4))
    to_task = [EUROSAT_PAPER.index(PAPER_NAMES[f]) for f in folders]
    return Expect(
        FakeTask("eurosat", EUROSAT_PAPER),
        {"train": [t for t in to_task for _ in range(2)], "test": to_task},
        {"train_per_class": 2, "test_per_class": 1},
    )


def build_resisc45(root: Path) -> Expect:
    base = root / "NWPU-RESISC45"
    classes = ["airplane", "baseball_diamond", "wetland"]
    for k, cls in enumerate(classes):
        for i in range(1, 6):
            save_image(base / cls / f"{cls}_{i:03d}.jpg", k, size=(4, 4))
    return Expect(
        FakeTask("resisc45", num_classes=3),
        {"train": [0, 1, 2], "test": [0, 0, 1, 1, 2, 2]},
        {"train_per_class": 1, "test_per_class": 2},
    )


def build_gtsrb(root: Path) -> Expect:
    train = root / "GTSRB" / "Training"
    for k in range(3):
        folder = train / f"{k:05d}"
        for i in range(2):
            save_image(folder / f"{i:05d}_00000.ppm", k * 2 + i)
        write(
            folder / f"GT-{k:05d}.csv",
            "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n",
        )
    images = root / "GTSRB" / "Final_Test" / "Images"
    rows = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
    for i, cid in enumerate([2, 0]):
        save_image(images / f"{i:05d}.ppm", i)
        rows += f"{i:05d}.ppm;8;8;1;1;7;7;{cid}\n"
    write(root / "GT-final_test.csv", rows)
    return Expect(FakeTask("gtsrb", num_classes=3), {"train": [0, 0, 1, 1, 2, 2], "test": [2, 0]})


def build_kitti_distance(root: Path) -> Expect:
    from bench.datasets.kitti_distance import video_splits

    base = root / "Kitti"
    training = base / "raw" / "training"
    n_images, n_videos = 40, 20
    # train_mapping.txt: one "<date> <drive> <frame>" line per raw frame; train_rand.txt maps
    # image i to a 1-based line.
    mapping = [
        f"2011_09_26 2011_09_26_drive_{v:04d}_sync {f:010d}"
        for v in range(n_videos)
        for f in range(2)
    ]
    rand = np.random.RandomState(0).permutation(len(mapping))[:n_images] + 1
    write(base / "mapping" / "train_mapping.txt", "\n".join(mapping) + "\n")
    write(base / "mapping" / "train_rand.txt", ",".join(str(r) for r in rand) + "\n")
    depths = [None, 5.0, 8.0, 8.5, 20.0, 35.0]
    for i in range(n_images):
        depth = depths[i % len(depths)]
        lines = [
            "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 3.0 0.01"
        ]
        if depth is not None:
            lines.append(
                f"Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 3.69 -16.53 2.39 {depth} 1.57"
            )
            lines.append(
                "Van 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 3.69 -16.53 2.39 60.0 1.57"
            )
        lines.append(
            "DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10"
        )
        write(training / "label_2" / f"{i:06d}.txt", "\n".join(lines) + "\n")
        save_image(training / "image_2" / f"{i:06d}.png", i)
    expected_label = {None: 3, 5.0: 0, 8.0: 0, 8.5: 1, 20.0: 1, 35.0: 2}
    parts = video_splits(base / "mapping")
    labels = {s: [expected_label[depths[i % len(depths)]] for i in ids] for s, ids in parts.items()}

    def check(_: Path, ds: Any) -> None:
        video_of = {i: mapping[rand[i] - 1].split()[1] for i in range(n_images)}
        videos = {s: {video_of[i] for i in ids} for s, ids in parts.items()}
        assert not videos["train"] & videos["test"] and not videos["val"] & videos["test"]
        assert len(videos["test"]) == 2 and len(videos["val"]) == 2  # 10% of 20 videos each

    return Expect(FakeTask("kitti_distance", num_classes=4), labels, check=check)


def build_country211(root: Path) -> Expect:
    labels: dict[str, list[int]] = {}
    for split, folder in (("train", "train"), ("val", "valid"), ("test", "test")):
        for k, code in enumerate(["AD", "AE", "ZW"]):
            save_image(root / "country211" / folder / code / f"{k}.jpg", k)
        labels[split] = [0, 1, 2]
    return Expect(FakeTask("country211", num_classes=3), labels)


def build_rendered_sst2(root: Path) -> Expect:
    labels: dict[str, list[int]] = {}
    for split, folder in (("train", "train"), ("val", "valid"), ("test", "test")):
        for k, cls in enumerate(["negative", "positive"]):
            for i in range(k + 1):
                save_image(root / "rendered-sst2" / folder / cls / f"{i}.png", i)
        labels[split] = [0, 1, 1]
    return Expect(FakeTask("rendered_sst2", num_classes=2), labels)


def build_pcam(root: Path) -> Expect:
    import h5py

    base = root / "pcam"
    base.mkdir(parents=True)
    labels = {"train": [0, 1, 1], "val": [1], "test": [0, 1]}
    for split, part in (("train", "train"), ("val", "valid"), ("test", "test")):
        n = len(labels[split])
        x = np.zeros((n, 96, 96, 3), np.uint8)
        x[:, :, :, 1] = 77
        with h5py.File(base / f"camelyonpatch_level_2_split_{part}_x.h5", "w") as f:
            f.create_dataset("x", data=x)
        with h5py.File(base / f"camelyonpatch_level_2_split_{part}_y.h5", "w") as f:
            f.create_dataset("y", data=np.array(labels[split], np.uint8).reshape(n, 1, 1, 1))

    def check(_: Path, ds: Any) -> None:
        image, _ = ds[0]
        assert image.size == (96, 96) and image.getpixel((3, 3)) == (0, 77, 0)

    return Expect(FakeTask("pcam", num_classes=2), labels, check=check)


def build_clevr_counts(root: Path) -> Expect:
    from bench.datasets.clevr_counts import CLASSES

    base = root / "CLEVR_v1.0"
    labels: dict[str, list[int]] = {}
    for split, part, counts in (("train", "train", [3, 10, 5, 7]), ("test", "val", [4, 9, 3])):
        scenes = []
        for i, count in enumerate(counts):
            name = f"CLEVR_{part}_{i:06d}.png"
            save_image(base / "images" / part / name, i)
            scenes.append({"image_index": i, "image_filename": name, "objects": [{}] * count})
        write(base / "scenes" / f"CLEVR_{part}_scenes.json", json.dumps({"scenes": scenes}))
        labels[split] = [CLASSES.index(str(c)) for c in counts]
    # Sizes = all scenes, so the sample is every scene, in file-name order.
    options = {"train_size": 4, "test_size": 3}
    return Expect(FakeTask("clevr_counts", num_classes=8), labels, options)


def build_hateful_memes(root: Path) -> Expect:
    base = root / "data"
    rows = {"train.jsonl": [(42953, 0), (23058, 1)], "dev_seen.jsonl": [(8291, 1)]}
    for name, items in rows.items():
        lines = []
        for i, (meme_id, label) in enumerate(items):
            save_image(base / "img" / f"{meme_id:05d}.png", i)
            lines.append(
                json.dumps(
                    {"id": meme_id, "img": f"img/{meme_id:05d}.png", "label": label, "text": "x"}
                )
            )
        write(base / name, "\n".join(lines) + "\n")
    return Expect(FakeTask("hateful_memes", num_classes=2), {"train": [0, 1], "test": [1]})


def build_birdsnap(root: Path) -> Expect:
    base = root / "birdsnap"
    write(
        base / "species.txt",
        "id\tcommon\tscientific\tdir\n1\tAcadian Flycatcher\tEmpidonax virescens\tAcadian_Flycatcher\n"
        "2\tAcorn Woodpecker\tMelanerpes formicivorus\tAcorn_Woodpecker\n",
    )
    rows = [
        ("Acadian_Flycatcher/1.jpg", 1, True),
        ("Acorn_Woodpecker/2.jpg", 2, True),
        ("Acorn_Woodpecker/3.jpg", 2, False),  # a dead link: listed, never fetched
        ("Acadian_Flycatcher/4.jpg", 1, True),
    ]
    header = "url\tmd5\tpath\tspecies_id\tbb_x1\tbb_y1\tbb_x2\tbb_y2\n"
    body = "".join(f"http://farm.example/{p}\t0\t{p}\t{s}\t1\t1\t5\t5\n" for p, s, _ in rows)
    write(base / "images.txt", header + body)
    write(base / "test_images.txt", "path\nAcadian_Flycatcher/4.jpg\n")
    for i, (path, _, fetched) in enumerate(rows):
        if fetched:
            save_image(base / "download" / "images" / path, i)
    return Expect(FakeTask("birdsnap", num_classes=2), {"train": [0, 1], "test": [0]})


def build_stanford_cars(root: Path) -> Expect:
    from scipy.io import savemat

    fields = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname"]

    def annos(rows: list[tuple[str, int]]) -> np.ndarray:
        out = np.zeros((1, len(rows)), dtype=[(f, "O") for f in fields])
        for j, (fname, cls) in enumerate(rows):
            out[0, j] = (
                np.array([[1]]),
                np.array([[1]]),
                np.array([[7]]),
                np.array([[7]]),
                np.array([[cls]]),
                np.array([fname]),
            )
        return out

    names = np.zeros((1, 3), dtype="O")
    names[0, :] = [
        "AM General Hummer SUV 2000",
        "Acura RL Sedan 2012",
        "smart fortwo Convertible 2012",
    ]
    (root / "devkit").mkdir(parents=True)
    savemat(root / "devkit" / "cars_meta.mat", {"class_names": names})
    train = [("00001.jpg", 1), ("00002.jpg", 3)]
    test = [("00001.jpg", 2)]
    savemat(root / "devkit" / "cars_train_annos.mat", {"annotations": annos(train)})
    savemat(root / "cars_test_annos_withlabels.mat", {"annotations": annos(test)})
    for folder, rows in (("cars_train", train), ("cars_test", test)):
        for i, (fname, _) in enumerate(rows):
            save_image(root / folder / fname, i)
    return Expect(FakeTask("stanford_cars", num_classes=3), {"train": [0, 2], "test": [1]})


UCF_CLASSES = ["ApplyEyeMakeup", "YoYo"]


def build_ucf101(root: Path) -> Expect:
    lists = root / "ucfTrainTestlist"
    write(lists / "classInd.txt", "1 ApplyEyeMakeup\n2 YoYo\n")
    train = ["YoYo/v_YoYo_g08_c01.avi", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi"]
    test = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"]
    write(
        lists / "trainlist01.txt",
        "".join(f"{c} {1 + UCF_CLASSES.index(c.split('/')[0])}\n" for c in train),
    )
    write(lists / "testlist01.txt", "".join(f"{c}\n" for c in test))
    for clip in train + test:
        write_video(root / "UCF-101" / clip, [0, 60, 120, 180, 240])  # middle = frame 2 -> 120

    def check(_: Path, ds: Any) -> None:
        image, _ = ds[0]
        assert abs(image.getpixel((8, 8))[0] - 120) < 12

    return Expect(FakeTask("ucf101", num_classes=101), {"train": [1, 0], "test": [0]}, check=check)


def build_kinetics700(root: Path) -> Expect:
    classes = ("abseiling", "acting in play", "yoga")
    clips = {
        "train": [("acting_in_play", "abc_000010_000020"), ("abseiling", "xyz_000001_000011")],
        "val": [("yoga", "q_000000_000010")],
    }
    for folder, items in clips.items():
        for cls, clip in items:
            write_video(root / folder / cls / f"{clip}.mp4", [10, 200, 90])  # middle: frame 1

    def check(_: Path, ds: Any) -> None:
        image, _ = ds[0]
        assert abs(image.getpixel((8, 8))[0] - 200) < 12

    return Expect(FakeTask("kinetics700", classes), {"train": [0, 1], "test": [2]}, check=check)


# ---------------------------------------------------------------- ImageNet and its shifts


def build_imagenet(root: Path) -> Expect:
    from bench.datasets._imagenet import imagenet_wnids

    wnids = imagenet_wnids()
    labels: dict[str, list[int]] = {"train": [], "test": []}
    for split, folder, picks in (("train", "train", [0, 0, 999]), ("test", "val", [7])):
        for i, k in enumerate(picks):
            save_image(root / folder / wnids[k] / f"{wnids[k]}_{i}.JPEG", i)
            labels[split].append(k)
    return Expect(FakeTask("imagenet", num_classes=1000), labels)


def build_imagenetv2(root: Path) -> Expect:
    base = root / "imagenetv2-matched-frequency-format-val"
    for k in (0, 2, 999):
        save_image(base / str(k) / f"{k}abc.jpeg", k)
    return Expect(FakeTask("imagenetv2", num_classes=1000), {"test": [0, 2, 999]})


def _shift(root: Path, folder: str, module: str, name: str) -> Expect:
    import importlib

    from bench.datasets._imagenet import wnid_index

    wnids = importlib.import_module(f"bench.datasets.{module}").class_wnids()
    # A task whose 200 classes are in reverse order, to check the pool matching.
    pools = tuple((wnid_index()[w],) for w in reversed(wnids))
    for k in (0, 5, 199):
        save_image(root / folder / wnids[k] / f"{k}.jpg", k)
    return Expect(FakeTask(name, num_classes=200, imagenet_pool=pools), {"test": [199, 194, 0]})


def build_imagenet_r(root: Path) -> Expect:
    return _shift(root, "imagenet-r", "imagenet_r", "imagenet_r")


def build_imagenet_a(root: Path) -> Expect:
    return _shift(root, "imagenet-a", "imagenet_a", "imagenet_a")


def build_imagenet_sketch(root: Path) -> Expect:
    from bench.datasets._imagenet import imagenet_wnids

    wnids = imagenet_wnids()
    for k in (3, 4):
        save_image(root / "sketch" / wnids[k] / "sketch_1.JPEG", k)
    return Expect(FakeTask("imagenet_sketch", num_classes=1000), {"test": [3, 4]})


def build_objectnet(root: Path) -> Expect:
    from PIL import ImageDraw

    from bench.datasets.objectnet import classes

    table = classes()
    base = root / "objectnet-1.0" / "images"
    picks = [0, 112]
    for k in picks:
        path = base / table[k][1] / "abc.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (12, 10), (0, 0, 255))
        ImageDraw.Draw(image).rectangle([0, 0, 11, 9], outline=(255, 0, 0))  # 1-px red frame
        image.save(path)
    save_image(base / "air_freshener" / "x.png", 1)  # not one of the 113: skipped
    pools = tuple(ids for _, _, ids in reversed(table))

    def check(_: Path, ds: Any) -> None:
        image, _ = ds[0]
        assert image.size == (8, 6)
        assert {image.getpixel((x, y)) for x in range(8) for y in range(6)} == {(0, 0, 255)}

    return Expect(
        FakeTask("objectnet", num_classes=113, imagenet_pool=pools),
        {"test": [112 - k for k in picks]},
        check=check,
    )


def build_imagenet_vid(root: Path) -> Expect:
    from bench.datasets.imagenet_vid import metadata

    labels, pmsets = metadata()
    keys = sorted(labels)
    anchor = sorted(pmsets)[0]
    for n, key in enumerate([anchor, *pmsets[anchor]]):
        save_image(root / "imagenet-vid-robust" / key, n)

    def check(_: Path, ds: Any) -> None:
        a = keys.index(anchor)
        assert len(ds.anchors) == 1109 and a in ds.anchors
        assert [keys[i] for i in ds.pmk_sets[a]] == pmsets[anchor]
        image, label = ds[a]
        assert image.size == (8, 8) and label.shape == (30,)
        assert set(label.nonzero().flatten().tolist()) == set(labels[anchor])

    from bench.datasets.imagenet_vid import multi_hot

    rows = multi_hot([labels[k] for k in keys], 30)
    assert rows.sum() == sum(len(labels[k]) for k in keys)
    return Expect(FakeTask("imagenet_vid", num_classes=30), {"test": rows}, check=check)


def build_ytbb(root: Path) -> Expect:
    import torch

    from bench.datasets.ytbb import anchor_labels

    anchors = anchor_labels()
    keys = sorted(anchors)
    save_image(root / "ytbb-robust" / keys[0], 0)
    rows = torch.zeros(len(keys), 24)
    for i, k in enumerate(keys):
        rows[i, anchors[k]] = 1

    def check(_: Path, ds: Any) -> None:
        assert ds.pmk_available is False and ds.pmk_sets == {}
        image, label = ds[0]
        assert image.size == (8, 8) and label.sum() >= 1

    return Expect(FakeTask("ytbb", num_classes=24), {"test": rows}, check=check)


# ----------------------------------------------------------------------------- generic loaders


def build_imagefolder(root: Path) -> Expect:
    classes = ("cat", "sea lion", "dog")
    folders = {"sea lion": "sea_lion"}
    labels: dict[str, list[int]] = {}
    for split, n in (("train", 2), ("val", 1), ("test", 2)):
        labels[split] = []
        for c, cls in enumerate(classes):
            for i in range(n):
                save_image(root / split / folders.get(cls, cls) / f"{i}.png", 10 * c + i)
            labels[split] += [c] * n
    return Expect(FakeTask("imagefolder", classes), labels, {"folders": folders})


def build_csv(root: Path) -> Expect:
    classes = ("cat", "dog")
    labels: dict[str, list[int]] = {}
    for split, rows in (("train", ["dog", "cat", "dog"]), ("test", ["cat", "dog"])):
        lines = ["image,label"]
        for i, cls in enumerate(rows):
            save_image(root / "img" / f"{split}{i}.jpg", i)
            lines.append(f"img/{split}{i}.jpg,{cls}")
        write(root / f"{split}.csv", "\n".join(lines) + "\n")
        labels[split] = [classes.index(c) for c in rows]
    return Expect(FakeTask("csv", classes), labels)


def write_shards(
    root: Path,
    split: str,
    items: list[tuple[Image.Image, int]],
    per_shard: int = 3,
    ext: str = "png",
) -> list[Path]:
    """CLIP_benchmark's layout: ``root/<split>/<n>.tar`` of ``<key>.cls`` + ``<key>.<ext>``."""
    import io
    import tarfile

    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, start in enumerate(range(0, len(items), per_shard)):
        path = folder / f"{n}.tar"
        with tarfile.open(path, "w") as tar:
            for i, (image, label) in enumerate(items[start : start + per_shard], start):
                buf = io.BytesIO()
                image.save(buf, {"png": "PNG", "webp": "WEBP", "jpg": "JPEG"}[ext], lossless=True)
                for name, data in (
                    (f"s{i:06d}.{ext}", buf.getvalue()),
                    (f"s{i:06d}.cls", b"%d" % label),
                ):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        paths.append(path)
    return paths


def write_mirror_names(root: Path, classnames: Any, templates: Any = None) -> None:
    write(root / "classnames.txt", "".join(f"{c}\n" for c in classnames))
    if templates is not None:
        text = "".join(t.replace("{}", "{c}") + "\n" for t in templates)
        write(root / "zeroshot_classification_templates.txt", text)


def build_wds(root: Path) -> Expect:
    classes = ("cat", "dog", "bird")
    labels = {"train": [2, 0, 1, 1, 0, 2, 1], "test": [1, 2, 0, 0]}
    for split, lab in labels.items():
        items = [(Image.new("RGB", (6, 6), color(i)), y) for i, y in enumerate(lab)]
        write_shards(root, split, items, per_shard=2)
    write_mirror_names(root, classes)

    def check(_: Path, ds: Any) -> None:
        assert ds[2][0].getpixel((0, 0)) == color(2)

    return Expect(FakeTask("wds", classes), labels, check=check)


# FairFace's values as its fairface_label_val.csv spells them (the on-disk format).
FAIRFACE_RACES = (
    "White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian",
    "Middle Eastern",
)  # fmt: skip
FAIRFACE_GENDERS = ("Male", "Female")
FAIRFACE_AGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70")


def write_fairface(root: Path, n: int = 18, size: int = 16) -> list[tuple[int, int, int]]:
    """FairFace's validation layout: ``fairface_label_val.csv`` + ``val/<i>.jpg`` (noise,
    solid and barred images in turn, so a random model's predictions vary); row ``i`` has race
    ``i % 7``, gender ``i % 2``, age ``i % 9`` (all groups appear once ``n >= 9``).

    Returns:
        ``(race, gender, age)`` indices per row, in the CSV's order.
    """
    rng = np.random.default_rng(7)
    rows, lines = [], ["file,age,gender,race,service_test"]
    for i in range(n):
        r, g, a = i % 7, i % 2, i % 9
        path = root / "val" / f"{i + 1}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        if i % 3 == 0:
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        else:
            pixels = np.zeros((size, size, 3), np.uint8)
            pixels[:, : size if i % 3 == 1 else rng.integers(2, size - 2)] = rng.integers(0, 256, 3)
        Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=95)
        lines.append(
            f"val/{i + 1}.jpg,{FAIRFACE_AGES[a]},{FAIRFACE_GENDERS[g]},{FAIRFACE_RACES[r]},"
            f"{'True' if i % 3 else 'False'}"
        )
        rows.append((r, g, a))
    write(root / "fairface_label_val.csv", "\n".join(lines) + "\n")
    return rows


def build_fairface(root: Path) -> Expect:
    rows = write_fairface(root, n=9, size=8)

    def check(_: Path, ds: Any) -> None:
        for k, name in enumerate(("race", "gender", "age")):
            assert list(getattr(ds, name)) == [row[k] for row in rows], name
        assert set(ds.side_fields) == {"race", "gender", "age"}

    return Expect(FakeTask("fairface"), {"test": [r for r, _, _ in rows]}, check=check)


def build_karpathy(root: Path) -> Expect:
    """Karpathy's Flickr30k split file beside ``flickr30k-images/``: 3 test images (5
    captions each; the first image has 6, of which 5 are kept) and one train image."""
    images = []
    for i, split in enumerate(("test", "test", "test", "train")):
        name = f"{1000 + i}.jpg"
        save_image(root / "flickr30k-images" / name, i)
        n = 6 if i == 0 else 5
        sentences = [{"raw": f" caption {j} of image {i} ", "tokens": []} for j in range(n)]
        images.append({"filename": name, "split": split, "sentences": sentences, "imgid": i})
    (root / "dataset_flickr30k.json").write_text(
        json.dumps({"images": images, "dataset": "flickr30k"})
    )

    def check(_: Path, ds: Any) -> None:
        if len(ds) == 3:  # the test split
            assert ds.captions[0] == [f"caption {j} of image 0" for j in range(5)]
            assert all(len(c) == 5 for c in ds.captions)

    return Expect(
        FakeTask("flickr30k"),
        {"test": [0, 1, 2], "train": [0]},
        options={"variant": "flickr30k"},
        check=check,
    )


BUILDERS: dict[str, Callable[[Path], Expect]] = {
    name.removeprefix("build_"): fn
    for name, fn in list(globals().items())
    if name.startswith("build_") and callable(fn)
}
