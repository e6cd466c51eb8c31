"""Per-task metadata that tools/make_tasks.py writes into tasks/<name>.yaml.

Split sizes are the CLIP paper's Table 9 (train / test). ``val`` is the official validation
split where the source has one (its size), else a seeded, class-stratified carve from train
(10% of train, at most 10,000). ``source_splits`` gives what our source yields where it is known
to differ from the paper's sizes. Loader names are modules of ``bench.datasets``.
"""

from __future__ import annotations


def carve(train: int, seed: int = 0) -> dict:
    """A carved validation split: 10% of train, at most 10,000."""
    return {"official": False, "size": min(10_000, round(train / 10)), "seed": seed}


def official(size: int, **extra) -> dict:
    return {"official": True, "size": size, **extra}


# prompts.md headings that differ from our task names
PROMPTS_HEADING = {
    "food101": "Food101",
    "cifar10": "CIFAR10",
    "cifar100": "CIFAR100",
    "birdsnap": "Birdsnap",
    "sun397": "SUN397",
    "stanford_cars": "StanfordCars",
    "fgvc_aircraft": "FGVCAircraft",
    "voc2007": "PascalVOC2007",
    "dtd": "DescribableTextures",
    "oxford_pets": "OxfordPets",
    "caltech101": "Caltech101",
    "flowers102": "Flowers102",
    "mnist": "MNIST",
    "fer2013": "FacialEmotionRecognition2013",
    "stl10": "STL10",
    "eurosat": "EuroSAT",
    "resisc45": "RESISC45",
    "gtsrb": "GTSRB",
    "kitti_distance": "KITTI",
    "country211": "Country211",
    "pcam": "PatchCamelyon",
    "ucf101": "UCF101",
    "kinetics700": "Kinetics700",
    "clevr_counts": "CLEVRCounts",
    "hateful_memes": "HatefulMemes",
    "rendered_sst2": "SST2",
}

P27 = ["paper27"]
SHIFT = ["shifts"]
NOT_STATED = "not stated by the authors; see the homepage for terms of use"


def _src(loader: str, homepage: str, manual: str | None = None, **options) -> dict:
    return {"loader": loader, "options": options, "homepage": homepage, "manual": manual}


def _t(title, metric, train, test, val, source, citation, licence, notes="", **extra) -> dict:
    splits = {"train": train, "test": test} if train else {"test": test}
    tags = extra.pop("tags", P27)
    return {
        "title": title,
        "tags": tags,
        "metric": metric,
        "splits": splits,
        "val": val,
        "source": source,
        "citation": citation,
        "licence": licence,
        "notes": notes,
        **extra,
    }


ACC, MPC = "accuracy", "mean_per_class_accuracy"

META: dict[str, dict] = {
    "digits": {
        **_t(
            "Digits (scikit-learn)",
            ACC,
            1200,
            597,
            carve(1200),
            _src(
                "digits",
                "https://archive.ics.uci.edu/dataset/80",
                test_size=597,
                seed=0,
                image_size=32,
            ),
            "Alpaydin and Kaynak, Optical Recognition of Handwritten Digits, UCI Machine Learning "
            "Repository, 1998 (as bundled by scikit-learn: sklearn.datasets.load_digits)",
            "CC BY 4.0 (UCI Machine Learning Repository)",
            "Embedded, offline task for tests and demos (not in the paper). The 1,797 8x8 images "
            "are split by a seeded, class-stratified draw: 597 test, 1,200 train, of which 120 "
            "are carved as val. Images are upscaled to 32x32 with nearest-neighbour.",
            tags=["embedded"],
            splits_comment="our seeded split of the 1,797 images",
        ),
        "classes": [str(d) for d in range(10)],
        "templates": [
            'a photo of the number: "{}".',
            "a photo of the number {}.",
            "a drawing of the digit {}.",
        ],
    },
    "food101": _t(
        "Food-101",
        ACC,
        75750,
        25250,
        carve(75750),
        _src("food101", "https://data.vision.ee.ethz.ch/cvl/datasets_extra/food-101/"),
        "Bossard, Guillaumin and Van Gool, Food-101: Mining Discriminative Components with Random "
        "Forests, ECCV 2014",
        NOT_STATED + " (images from foodspotting.com)",
        "Official split (meta/train.json, meta/test.json). No official val: carved from train.",
    ),
    "cifar10": _t(
        "CIFAR-10",
        ACC,
        50000,
        10000,
        carve(50000),
        _src("cifar", "https://www.cs.toronto.edu/~kriz/cifar.html", variant="cifar10"),
        "Krizhevsky, Learning Multiple Layers of Features from Tiny Images, tech. report, 2009",
        NOT_STATED,
        "Official split. No official val: carved from train.",
    ),
    "cifar100": _t(
        "CIFAR-100",
        ACC,
        50000,
        10000,
        carve(50000),
        _src("cifar", "https://www.cs.toronto.edu/~kriz/cifar.html", variant="cifar100"),
        "Krizhevsky, Learning Multiple Layers of Features from Tiny Images, tech. report, 2009",
        NOT_STATED,
        "Official split, 100 fine classes. No official val: carved from train.",
    ),
    "birdsnap": _t(
        "Birdsnap",
        ACC,
        42283,
        2149,
        carve(42283),
        _src("birdsnap", "https://thomasberg.org/"),
        "Berg, Liu, Lee, Alexander, Jacobs and Belhumeur, Birdsnap: Large-scale Fine-grained "
        "Visual Categorization of Birds, CVPR 2014",
        "images are Flickr URLs under their owners' licences; " + NOT_STATED,
        "Birdsnap is distributed as a list of image URLs, many of them dead: the paper's 42,283 / "
        "2,149 are the images OpenAI could fetch, and our download gets whatever is still online "
        "(the official test list is used as test). Expect fewer images than the paper. No "
        "official val: carved from train.",
    ),
    "sun397": _t(
        "SUN397",
        ACC,
        19850,
        19850,
        carve(19850),
        _src("sun397", "https://vision.princeton.edu/projects/2010/SUN/"),
        "Xiao, Hays, Ehinger, Oliva and Torralba, SUN Database: Large-scale Scene Recognition "
        "from Abbey to Zoo, CVPR 2010",
        NOT_STATED,
        "The first of the ten official partitions (Training_01.txt / Testing_01.txt: 50 + 50 "
        "images per class). No official val: carved from train.",
    ),
    "stanford_cars": _t(
        "Stanford Cars",
        ACC,
        8144,
        8041,
        carve(8144),
        _src(
            "stanford_cars",
            "https://ai.stanford.edu/~jkrause/cars/car_dataset.html",
            "The original download links are offline. Obtain cars_train/, cars_test/, "
            "devkit/cars_meta.mat, devkit/cars_train_annos.mat and cars_test_annos_withlabels.mat "
            "(e.g. from a mirror of the original release) and place them under the data root's "
            "stanford_cars/ folder.",
        ),
        "Krause, Stark, Deng and Fei-Fei, 3D Object Representations for Fine-Grained "
        "Categorization, 3dRR workshop at ICCV 2013",
        NOT_STATED + " (ImageNet-style terms: non-commercial research)",
        "Official split. No official val: carved from train.",
    ),
    "fgvc_aircraft": _t(
        "FGVC Aircraft",
        MPC,
        6667,
        3333,
        official(3333),
        _src(
            "fgvc_aircraft",
            "https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/",
            annotation="variant",
        ),
        "Maji, Rahtu, Kannala, Blaschko and Vedaldi, Fine-Grained Visual Classification of "
        "Aircraft, arXiv:1306.5151, 2013",
        "images for non-commercial research only (see the homepage)",
        "100 variants. Train is the official trainval (3,334 train + 3,333 val); val is the "
        "official val split.",
        val_comment="official: images_variant_val.txt",
    ),
    "voc2007": _t(
        "Pascal VOC 2007",
        "map_11point",
        5011,
        4952,
        official(2510),
        _src("voc2007", "http://host.robots.ox.ac.uk/pascal/VOC/voc2007/"),
        "Everingham, Van Gool, Williams, Winn and Zisserman, The PASCAL Visual Object Classes "
        "(VOC) Challenge, IJCV 2010",
        "images from Flickr under their owners' terms; annotations: " + NOT_STATED,
        "Multi-label classification of whole images over the 20 classes (multi-hot labels), "
        "scored by 11-point interpolated mAP. Train is the official trainval (2,501 train + "
        "2,510 val); val is the official val split.",
        multilabel=True,
        val_comment="official: ImageSets/Main/val.txt",
    ),
    "dtd": _t(
        "Describable Textures (DTD)",
        ACC,
        3760,
        1880,
        official(1880),
        _src("dtd", "https://www.robots.ox.ac.uk/~vgg/data/dtd/", partition=1),
        "Cimpoi, Maji, Kokkinos, Mohamed and Vedaldi, Describing Textures in the Wild, CVPR 2014",
        "research only (see the homepage)",
        "The first official partition (train1 + val1 = 3,760, test1 = 1,880); val is val1.",
        val_comment="official: labels/val1.txt",
    ),
    "oxford_pets": _t(
        "Oxford-IIIT Pets",
        MPC,
        3680,
        3669,
        carve(3680),
        _src("oxford_pets", "https://www.robots.ox.ac.uk/~vgg/data/pets/"),
        "Parkhi, Vedaldi, Zisserman and Jawahar, Cats and Dogs, CVPR 2012",
        "CC BY-SA 4.0",
        "Official trainval / test split. No official val: carved from trainval.",
    ),
    "caltech101": _t(
        "Caltech-101",
        MPC,
        3060,
        6085,
        carve(3060),
        _src("caltech101", "https://data.caltech.edu/records/mzrjq-6wc02"),
        "Fei-Fei, Fergus and Perona, Learning Generative Visual Models from Few Training "
        "Examples, CVPR Workshop on Generative-Model Based Vision, 2004",
        "CC BY 4.0",
        "No official split: as the paper, 30 images per class (102 classes, background "
        "included) are drawn, seeded, for train and the rest is test; the archive's count of the "
        "rest may differ from the paper's 6,085 by one or two images. No official val: carved "
        "from train.",
    ),
    "flowers102": _t(
        "Oxford Flowers-102",
        MPC,
        2040,
        6149,
        official(1020),
        _src("flowers102", "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"),
        "Nilsback and Zisserman, Automated Flower Classification over a Large Number of "
        "Classes, ICVGIP 2008",
        NOT_STATED,
        "Official setid.mat split: train 1,020 + val 1,020, test 6,149; val is the official val.",
        val_comment="official: setid.mat valid",
    ),
    "mnist": _t(
        "MNIST",
        ACC,
        60000,
        10000,
        carve(60000),
        _src("mnist", "http://yann.lecun.com/exdb/mnist/"),
        "LeCun, Bottou, Bengio and Haffner, Gradient-Based Learning Applied to Document "
        "Recognition, Proceedings of the IEEE, 1998",
        "CC BY-SA 3.0",
        "Official split. No official val: carved from train.",
    ),
    "fer2013": _t(
        "FER2013 (Facial Emotion Recognition)",
        ACC,
        32140,
        3574,
        official(3589),
        _src(
            "fer2013",
            "https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge",
            "Sign in to Kaggle, accept the rules of the 'Challenges in Representation Learning: "
            "Facial Expression Recognition Challenge' competition, download fer2013.tar.gz "
            "(containing fer2013/fer2013.csv) and place fer2013.csv under the data root's "
            "fer2013/ folder.",
        ),
        "Goodfellow et al., Challenges in Representation Learning: A Report on Three Machine "
        "Learning Contests, ICONIP 2013",
        "Kaggle competition rules (research use)",
        "fer2013.csv's Usage column: train = Training (28,709) + PublicTest (3,589, the official "
        "val), test = PrivateTest (3,589). The paper's 32,140 / 3,574 are slightly smaller (its "
        "filtering is not published); we use every row. Several classes have more than one name "
        "(as OpenAI's prompts): zero-shot averages them.",
        source_splits={"train": 32298, "test": 3589},
        val_comment="official: PublicTest",
    ),
    "stl10": _t(
        "STL-10",
        ACC,
        1000,
        8000,
        carve(1000),
        _src("stl10", "https://cs.stanford.edu/~acoates/stl10/"),
        "Coates, Lee and Ng, An Analysis of Single-Layer Networks in Unsupervised Feature "
        "Learning, AISTATS 2011",
        NOT_STATED,
        "The ten predefined training folds of 1,000 images (fold_indices.txt); linear-probe "
        "results are averaged over the folds. No official val: carved from each fold.",
        probe_folds=10,
        splits_comment="the paper, Table 9: train is per fold (10 folds)",
    ),
    "eurosat": _t(
        "EuroSAT",
        ACC,
        10000,
        5000,
        carve(10000),
        _src(
            "eurosat",
            "https://github.com/phelber/EuroSAT",
            train_size=10000,
            test_size=5000,
            seed=0,
        ),
        "Helber, Bischke, Dengel and Borth, EuroSAT: A Novel Dataset and Deep Learning Benchmark "
        "for Land Use and Land Cover Classification, IEEE JSTARS 2019",
        "MIT",
        "EuroSAT (RGB, 27,000 images) has no official split and the paper's 10,000 / 5,000 "
        "subset is not published: we draw a seeded, class-stratified 10,000 / 5,000 split "
        "(disjoint). No official val: carved from train.",
    ),
    "resisc45": _t(
        "RESISC45",
        ACC,
        3150,
        25200,
        carve(3150),
        _src(
            "resisc45",
            "https://www.tensorflow.org/datasets/catalog/resisc45",
            "Download NWPU-RESISC45.rar from the authors' OneDrive link (see the homepage), "
            "extract it and place the NWPU-RESISC45/ folder under the data root's resisc45/ folder.",
            train_per_class=70,
            test_per_class=560,
            seed=0,
        ),
        "Cheng, Han and Lu, Remote Sensing Image Scene Classification: Benchmark and State of "
        "the Art, Proceedings of the IEEE, 2017",
        NOT_STATED,
        "No official split; the paper's sizes are 70 train and 560 test images per class (of "
        "700): we draw them seeded and class-stratified. The other 70 per class are unused. No "
        "official val: carved from train.",
    ),
    "gtsrb": _t(
        "GTSRB",
        ACC,
        26640,
        12630,
        carve(39209),
        _src("gtsrb", "https://benchmark.ini.rub.de/gtsrb_dataset.html"),
        "Stallkamp, Schlipsing, Salmen and Igel, The German Traffic Sign Recognition Benchmark: "
        "A Multi-class Classification Competition, IJCNN 2011",
        NOT_STATED,
        "The paper's 26,640 training images match the size of the competition's first-phase "
        "training set, which is no longer distributed on its own; we use the final training set "
        "(39,209 images, which contains it) and the official test set (12,630). No official "
        "val: carved from train.",
        source_splits={"train": 39209, "test": 12630},
    ),
    "kitti_distance": _t(
        "KITTI distance (closest vehicle)",
        ACC,
        6770,
        711,
        official(423),
        _src("kitti_distance", "https://www.cvlibs.net/datasets/kitti/eval_object.php"),
        "Geiger, Lenz and Urtasun, Are we ready for Autonomous Driving? The KITTI Vision "
        "Benchmark Suite, CVPR 2012; task as in Zhai et al., The Visual Task Adaptation "
        "Benchmark (VTAB), arXiv:1910.04867, 2019",
        "CC BY-NC-SA 3.0",
        "VTAB's closest-vehicle-distance task on KITTI object-detection images (4 classes). "
        "VTAB's split: train 6,347 + val 423 = 6,770, test 711; val is VTAB's val.",
        val_comment="official: VTAB's validation split",
    ),
    "country211": _t(
        "Country211",
        ACC,
        42200,
        21100,
        official(10550, within_train=False),
        _src("country211", "https://github.com/openai/CLIP/blob/main/data/country211.md"),
        "Radford et al., Learning Transferable Visual Models From Natural Language Supervision, "
        "ICML 2021 (images from YFCC100M: Thomee et al., CACM 2016)",
        "images from YFCC100M under their Creative Commons licences",
        "OpenAI's release: train 42,200 (200 per country), valid 10,550, test 21,100. Table 9's "
        "42,200 counts train only; the official valid folder is the val split (not counted "
        "in splits.train).",
        val_comment="official: valid/ (10,550, outside Table 9's train count)",
    ),
    "pcam": _t(
        "PatchCamelyon",
        ACC,
        294912,
        32768,
        official(32768),
        _src("pcam", "https://github.com/basveeling/pcam"),
        "Veeling, Linmans, Winkens, Cohen and Welling, Rotation Equivariant CNNs for Digital "
        "Pathology, MICCAI 2018",
        "CC0 1.0",
        "Official split: train 262,144 + valid 32,768 = 294,912, test 32,768; val is valid.",
        val_comment="official: camelyonpatch_level_2_split_valid",
    ),
    "ucf101": _t(
        "UCF101",
        ACC,
        9537,
        1794,
        carve(9537),
        _src("ucf101", "https://www.crcv.ucf.edu/data/UCF101.php"),
        "Soomro, Zamir and Shah, UCF101: A Dataset of 101 Human Actions Classes From Videos in "
        "The Wild, arXiv:1212.0402, 2012",
        NOT_STATED,
        "The middle frame of each clip. Official split 1: trainlist01 has the paper's 9,537 "
        "clips, but testlist01 has 3,783, not the paper's 1,794 (how the paper reduced it is "
        "not published); we use all of testlist01. No official val: carved from train.",
        source_splits={"train": 9537, "test": 3783},
    ),
    "kinetics700": _t(
        "Kinetics-700",
        "mean_top1_top5",
        494801,
        31669,
        carve(494801),
        _src("kinetics700", "https://github.com/cvdfoundation/kinetics-dataset"),
        "Carreira, Noland, Hillier and Zisserman, A Short Note on the Kinetics-700 Human Action "
        "Dataset, arXiv:1907.06987, 2019",
        "annotations CC BY 4.0; videos from YouTube under their owners' terms",
        "The middle frame of each clip. Test is the official validation set (test labels are "
        "not published). The counts depend on which clips are still available; the paper's "
        "494,801 / 31,669 are what OpenAI had. No official val: carved from train.",
    ),
    "clevr_counts": _t(
        "CLEVR Counts",
        ACC,
        2000,
        500,
        carve(2000),
        _src(
            "clevr_counts",
            "https://cs.stanford.edu/people/jcjohns/clevr/",
            train_size=2000,
            test_size=500,
            seed=0,
        ),
        "Johnson, Hariharan, van der Maaten, Fei-Fei, Zitnick and Girshick, CLEVR: A Diagnostic "
        "Dataset for Compositional Language and Elementary Visual Reasoning, CVPR 2017; task as "
        "in VTAB (Zhai et al., 2019)",
        "CC BY 4.0",
        "Counting task (3 to 10 objects, 8 classes) on CLEVR v1.0. The paper's 2,000 / 500 "
        "sample is not published: we draw a seeded, class-stratified 2,000 from CLEVR's train "
        "and 500 from its val (its test has no scene annotations). No official val: carved from "
        "train.",
    ),
    "hateful_memes": _t(
        "Hateful Memes",
        "roc_auc",
        8500,
        500,
        carve(8500),
        _src(
            "hateful_memes",
            "https://ai.meta.com/tools/hatefulmemes/",
            "Accept the Hateful Memes dataset licence on the homepage, download the archive, and "
            "place img/, train.jsonl and dev_seen.jsonl under the data root's hateful_memes/ folder.",
        ),
        "Kiela, Firooz, Mohan, Goswami, Singh, Ringshia and Testuggine, The Hateful Memes "
        "Challenge: Detecting Hate Speech in Multimodal Memes, NeurIPS 2020",
        "Hateful Memes dataset licence (research use; see the homepage)",
        "Train is train.jsonl (8,500); test is dev_seen.jsonl (500), as the paper (the test "
        "labels are not published). Binary: scored by ROC AUC. No official val: carved from train.",
    ),
    "rendered_sst2": _t(
        "Rendered SST2",
        ACC,
        7792,
        1821,
        official(872),
        _src("rendered_sst2", "https://github.com/openai/CLIP/blob/main/data/rendered-sst2.md"),
        "Socher et al., Recursive Deep Models for Semantic Compositionality Over a Sentiment "
        "Treebank, EMNLP 2013; rendered by Radford et al., ICML 2021",
        NOT_STATED,
        "OpenAI's release: train 6,920 + valid 872 = 7,792, test 1,821; val is valid.",
        val_comment="official: valid/",
    ),
    "imagenet": _t(
        "ImageNet (ILSVRC-2012)",
        ACC,
        1281167,
        50000,
        carve(1281167),
        _src(
            "imagenet",
            "https://image-net.org/challenges/LSVRC/2012/",
            "Register at image-net.org, accept the terms of access, download "
            "ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar and ILSVRC2012_devkit_t12.tar.gz "
            "and place them under the data root's imagenet/ folder.",
        ),
        "Russakovsky et al., ImageNet Large Scale Visual Recognition Challenge, IJCV 2015",
        "ImageNet terms of access (non-commercial research and education)",
        "Test is the official validation set (50,000). No official val: 10,000 images carved "
        "from train. Class names and the 80 templates are OpenAI's.",
    ),
    "imagenetv2": _t(
        "ImageNetV2 (matched frequency)",
        ACC,
        None,
        10000,
        None,
        _src("imagenetv2", "https://github.com/modestyachts/ImageNetV2"),
        "Recht, Roelofs, Schmidt and Shankar, Do ImageNet Classifiers Generalize to ImageNet?, "
        "ICML 2019",
        "MIT (code and data release); images from Flickr",
        "The matched-frequency test set; the 1,000 ImageNet classes.",
        tags=SHIFT,
        splits_comment="test only",
    ),
    "imagenet_r": _t(
        "ImageNet-R",
        ACC,
        None,
        30000,
        None,
        _src("imagenet_r", "https://github.com/hendrycks/imagenet-r"),
        "Hendrycks et al., The Many Faces of Robustness: A Critical Analysis of "
        "Out-of-Distribution Generalization, ICCV 2021",
        "MIT",
        "200 ImageNet classes (imagenet-testbed's class_sublist): logits of the other 800 "
        "classes are ignored.",
        tags=SHIFT,
        splits_comment="test only",
    ),
    "imagenet_sketch": _t(
        "ImageNet-Sketch",
        ACC,
        None,
        50889,
        None,
        _src("imagenet_sketch", "https://github.com/HaohanWang/ImageNet-Sketch"),
        "Wang, Ge, Lipton and Xing, Learning Robust Global Representations by Penalizing Local "
        "Predictive Power, NeurIPS 2019",
        "MIT",
        "All 50,889 images of the release (about 50 per class; the testbed reports n = 50,000); "
        "the 1,000 ImageNet classes.",
        tags=SHIFT,
        splits_comment="test only",
    ),
    "objectnet": _t(
        "ObjectNet",
        ACC,
        None,
        18514,
        None,
        _src(
            "objectnet",
            "https://objectnet.dev/",
            "Accept ObjectNet's licence at objectnet.dev, download objectnet-1.0.zip (the "
            "password is given on the download page), and place the extracted objectnet-1.0/ "
            "folder under the data root's objectnet/ folder.",
        ),
        "Barbu, Mayo, Alverio, Luo, Wang, Gutfreund, Tenenbaum and Katz, ObjectNet: A "
        "Large-Scale Bias-Controlled Dataset for Pushing the Limits of Object Recognition "
        "Models, NeurIPS 2019",
        "ObjectNet licence: evaluation only, never training (see objectnet.dev)",
        "The 113 of ObjectNet's 313 classes that overlap ImageNet, mapped to 125 ImageNet classes "
        "(9 ObjectNet classes pool several); the 18,514 images of those classes, with the "
        "1-pixel red border cropped as the testbed does.",
        tags=SHIFT,
        splits_comment="test only",
    ),
    "imagenet_a": _t(
        "ImageNet-A",
        ACC,
        None,
        7500,
        None,
        _src("imagenet_a", "https://github.com/hendrycks/natural-adv-examples"),
        "Hendrycks, Zhao, Basart, Steinhardt and Song, Natural Adversarial Examples, CVPR 2021",
        "MIT",
        "200 ImageNet classes (imagenet-testbed's class_sublist): logits of the other 800 "
        "classes are ignored.",
        tags=SHIFT,
        splits_comment="test only",
    ),
    "imagenet_vid": _t(
        "ImageNet-Vid-Robust",
        "pm0_pm10",
        None,
        22179,
        None,
        _src(
            "imagenet_vid",
            "https://modestyachts.github.io/natural-perturbations-website/",
            "Download imagenet_vid_ytbb_robust.tar.gz from the natural-perturbations website "
            "(see the homepage; it requires accepting ImageNet's terms) and place the extracted "
            "imagenet-vid-robust/ folder under the data root's imagenet_vid/ folder.",
        ),
        "Shankar, Dave, Roelofs, Ramanan, Recht and Schmidt, Do Image Classifiers Generalize "
        "Across Time?, ICCV 2021",
        "ImageNet terms of access",
        "30 classes, each the max over its ImageNet classes' logits. 22,179 frames: 1,109 anchors "
        "(pm-0 is their accuracy) and 21,070 reviewed neighbours within 10 frames (pm-10 counts "
        "an anchor only if it and all its neighbours are right). Labels are multi-label (an "
        "answer is right if it is any of the frame's classes).",
        tags=SHIFT,
        splits_comment="test only: anchors and their neighbours",
    ),
    "ytbb": _t(
        "YouTube-BB-Robust",
        "pm0_pm10",
        None,
        2530,
        None,
        _src(
            "ytbb",
            "https://modestyachts.github.io/natural-perturbations-website/",
            "Download imagenet_vid_ytbb_robust.tar.gz from the natural-perturbations website and "
            "place the extracted ytbb-robust/ folder under the data root's ytbb/ folder.",
        ),
        "Shankar, Dave, Roelofs, Ramanan, Recht and Schmidt, Do Image Classifiers Generalize "
        "Across Time?, ICCV 2021; YouTube-BoundingBoxes: Real, Shlens, Mazzocchi, Pan and "
        "Vanhoucke, CVPR 2017",
        "CC BY 4.0 (YouTube-BoundingBoxes annotations); frames from YouTube",
        "24 classes; 5 of them (cow, giraffe, skateboard, toilet, none) have no ImageNet class "
        "and get -inf. 2,530 anchor frames (the testbed's n; its anchors CSV lists 2,529) for "
        "pm-0, plus their reviewed "
        "neighbours for pm-10, whose list (pmk_labels.json) is not in our reference snapshot: "
        "it must come from the dataset's release.",
        tags=SHIFT,
        splits_comment="test only: anchor frames",
    ),
}
