"""`slicer-keypoints info`: versions, the device inference will use, and the shipped models with their checksums."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("torch", "monai", "SimpleITK", "opencv-python-headless", "scikit-image", "numpy", "slicer-core", "vtk")


def add_parser(subparsers):
    parser = subparsers.add_parser("info", help="print versions, the compute device and the registered models",
                                   description="Print versions, the compute device and the registered models, and "
                                               "whether each model's weights match their sha256.")
    parser.add_argument("--device", default=None, help="device preference: auto, cpu, cuda or mps "
                                                       "(default: KEYPOINT_DEVICE or auto)")
    return parser


def run(args) -> int:
    from KeypointEngineLib.device import choose_device
    from KeypointEngineLib.registry import ChecksumMismatch, default_registry

    print(f"SlicerKeypoints {_version('slicer-keypoints')} on Python {platform.python_version()} "
          f"({platform.system()} {platform.machine()})")
    for package in PACKAGES:
        print(f"  {package:24s} {_version(package)}")
    print(f"Device: {choose_device(args.device)}")
    registry = default_registry()
    cards = registry.cards()
    print(f"Models in {', '.join(str(folder) for folder in registry.folders)}: {len(cards)}")
    failures = 0
    for card in cards:
        try:
            registry.verify(card)
            status = "sha256 OK"
        except (ChecksumMismatch, FileNotFoundError) as error:
            status, failures = f"FAILED: {error}", failures + 1
        print(f"  {card.name:24s} {card.architecture} — {status}")
    return 1 if failures else 0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
