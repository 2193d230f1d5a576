"""`slicer-keypoints info`: versions, the device inference will use, and the shipped models with their checksums."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("torch", "monai", "SimpleITK", "opencv-python-headless", "scikit-image", "numpy", "slicer-core", "vtk")


def add_parser(subparsers):
    parser = subparsers.add_parser("info", help="print versions, the compute device and the registered models",
                                   description="Print versions, the compute device and the registered models, and "
                                               "whether each model's weights match their sha256 and load as a plain "
                                               "state dict; exits 3 when one does not.")
    parser.add_argument("--device", default=None, help="device preference: auto, cpu, cuda or mps "
                                                       "(default: KEYPOINT_DEVICE or auto)")
    return parser


def run(args) -> int:
    from KeypointCLI import exits
    from KeypointEngineLib.device import choose_device
    from KeypointEngineLib.errors import BrokenInstallation
    from KeypointEngineLib.registry import default_registry

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
            state, _ = registry.load_state_dict(card.name)  # checksum, then a plain state dict of tensors
            status = f"sha256 OK, loads ({len(state)} tensors)"
        except (BrokenInstallation, FileNotFoundError) as error:
            status, failures = f"FAILED: {error}", failures + 1
        print(f"  {card.name:24s} {card.architecture} — {status}")
    return exits.INTERNAL if failures else exits.DONE


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
