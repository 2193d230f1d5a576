"""The CLI core every module plugs into: a light parser, exit codes, output paths checked before the work, files
written whole or not at all, strict JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from KeypointCLI import exits
from KeypointCLI.main import main
from KeypointCLI.outputs import atomic_output, check_output, strict_json, write_json

HEAVY = ("torch", "cv2", "monai", "skimage", "vtk", "vtkmodules", "slicer", "slicer_core", "SimpleITK")


def _blocked(*names: str) -> str:
    return ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {names!r}:\n"
            "            raise ModuleNotFoundError('blocked ' + name, name=name)\n"
            "sys.meta_path.insert(0, Block())\n")


def _run(script: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=cwd)


def test_parser_and_every_help_import_nothing_heavy():
    script = _blocked(*HEAVY) + (
        "from KeypointCLI.main import build_parser, main\n"
        "parser = build_parser()\n"
        "commands = next(a for a in parser._actions if a.dest == 'command').choices\n"
        "for command in [[]] + [[name] for name in commands] + [['bench', 'align']]:\n"
        "    try:\n"
        "        main([*command, '--help'])\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, (command, done.code)\n"
        "print(sorted(commands))\n")
    result = _run(script)
    assert result.returncode == 0, result.stderr
    assert "align" in result.stdout and "info" in result.stdout


def test_a_missing_slicer_core_is_one_line_on_how_to_install_the_extra(tmp_path):
    for name in ("fixed.png", "moving.png"):
        (tmp_path / name).write_bytes(b"")
    script = _blocked("slicer", "vtk", "vtkmodules") + "from KeypointCLI.main import main\nraise SystemExit(main())\n"
    result = _run(script, "align", str(tmp_path / "fixed.png"), str(tmp_path / "moving.png"), "-o",
                  str(tmp_path / "t.h5"))
    assert result.returncode == exits.INTERNAL and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "slicer-keypoints[standalone]" in result.stderr


@pytest.mark.parametrize("arguments, message", [
    (["--fov", "0"], "field of view must lie between"),
    (["--working-size", "99999"], "working size must lie between"),
    (["--ratio", "1.5"], "ratio test must lie between"),
    (["-o", "{tmp}/missing/t.h5"], "does not exist; create it first"),
    (["-o", "{tmp}/t.png"], "as .h5 or .txt or .tfm"),
    (["-o", "{tmp}"], "as .h5 or .txt or .tfm"),
    (["--report", "{tmp}/r.txt"], "report as .json"),
    (["--warped", "{tmp}/nowhere/w.png"], "warped image"),
    (["-o", "/proc/x.h5"], "cannot be written in /proc"),
])
def test_bad_options_exit_2_before_any_work(tmp_path, capsys, arguments, message):
    """The images do not even exist: every option is checked before they would be read."""
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in arguments]
    if "-o" not in arguments:
        arguments += ["-o", str(tmp_path / "t.h5")]
    assert main(["align", str(tmp_path / "no-fixed.png"), str(tmp_path / "no-moving.png"), *arguments]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == []


def test_an_internal_error_exits_3_with_its_details(monkeypatch, capsys):
    from KeypointCLI import info

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(info, "run", broken)  # a fault injected where any subcommand's bug would surface
    assert main(["info"]) == exits.INTERNAL
    error = capsys.readouterr().err
    assert "Traceback" in error and error.strip().endswith("internal error: a bug")


def test_results_exit_by_success_and_confidence(capsys):
    assert exits.result_exit_code(True, True, False, "x") == exits.DONE
    assert exits.result_exit_code(False, False, False, "x") == exits.NO_RESULT
    assert exits.result_exit_code(True, False, False, "x") == exits.DONE and "not confident" in capsys.readouterr().err
    assert exits.result_exit_code(True, False, True, "x") == exits.NO_RESULT


def test_output_is_renamed_into_place_whole_or_removed(tmp_path):
    target = tmp_path / "case.seg.nrrd"
    with atomic_output(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".case.")
        assert temporary.name.endswith(".seg.nrrd")  # writers that choose the format by name still can
        temporary.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and os.listdir(tmp_path) == ["case.seg.nrrd"]
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"whole" and os.listdir(tmp_path) == ["case.seg.nrrd"]


def test_output_paths_are_checked(tmp_path):
    assert check_output(None) is None
    assert check_output(tmp_path / "a.mrk.json", (".mrk.json",)) == tmp_path / "a.mrk.json"
    with pytest.raises(ValueError, match="as .mrk.json, not 'a.json'"):
        check_output(tmp_path / "a.json", (".mrk.json",))
    with pytest.raises(ValueError, match="is a folder"):
        check_output(tmp_path)
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ValueError, match="Permission denied"):
            check_output(locked / "a.txt")
    assert sorted(os.listdir(tmp_path)) == (["locked"] if os.geteuid() != 0 else [])  # the probe is gone


def test_json_is_strict(tmp_path):
    data = {"error": float("inf"), "nan": float("nan"), "numpy": np.float32(1.5), "list": [np.int64(2), -np.inf]}
    assert json.loads(strict_json(data)) == {"error": None, "nan": None, "numpy": 1.5, "list": [2, None]}
    path = write_json(tmp_path / "r.json", data)
    assert "Infinity" not in path.read_text() and "NaN" not in path.read_text()


def test_an_absent_gpu_is_an_error_before_any_work_whatever_the_backend(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    code = main(["align", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "t.h5"),
                 "--features", "sift", "--device", "cuda"])
    error = capsys.readouterr().err
    assert code == 2 and "CUDA was requested" in error and "Traceback" not in error
