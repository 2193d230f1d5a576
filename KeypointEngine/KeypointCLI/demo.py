"""`slicer-keypoints demo`: run SlicerKeypoints on bundled sample data and write a Slicer scene plus PNG previews."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo", help="run on bundled sample data; write a Slicer scene folder and PNG previews",
        description="Load the bundled sample images (scikit-image's real colour fundus photograph), run the modules "
                    "on them and save everything as a Slicer scene (open OUTPUT/demo.mrml in Slicer) with PNG "
                    "previews beside it.")
    parser.add_argument("-o", "--output", type=Path, default=Path("demo-output"), help="folder to write (created)")
    return parser


def run(args) -> int:
    from KeypointCLI.previews import middle_slice, write_png
    from KeypointMRMLLib.scene import make_scene
    from KeypointMRMLLib.storage import load_volume, save_scene
    from KeypointMRMLLib.volumes import array_from_volume

    output = Path(args.output)
    scene = make_scene()
    retina = load_volume(scene, sample_retina_path(), "retina")
    preview = write_png(output / "previews" / "retina.png", middle_slice(array_from_volume(retina).array))
    mrml = save_scene(scene, output, "demo")
    print(f"Scene: {mrml} (open it in Slicer)")
    print(f"Preview: {preview}")
    return 0


def sample_retina_path() -> Path:
    """scikit-image's real colour fundus photograph (1411 x 1411 RGB), shipped inside the package: no download."""
    import skimage.data

    return Path(skimage.data.__file__).parent / "retina.jpg"
