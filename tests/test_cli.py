import subprocess
import sys

from faceattr.cli import main

from .conftest import CELEBA_ATTR


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "faceattr", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for cmd in ("prepare", "train", "evaluate", "framings"):
        assert cmd in out


def test_bad_input_is_one_line(tmp_path, capsys):
    rc = main(["prepare", "--images", str(tmp_path / "nope"), "--labels", str(CELEBA_ATTR),
               "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "images not found" in err
    rc = main(["evaluate", "--model", str(tmp_path / "m.safetensors"), "--images",
               str(tmp_path), "--labels", str(CELEBA_ATTR)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == f"error: model file not found: {tmp_path / 'm.safetensors'}"


def test_prepare_command(small_aligned, celeba_attr_small, tmp_path, capsys):
    args = ["prepare", "--images", str(small_aligned), "--labels", str(celeba_attr_small),
            "--framing", "celeba-aligned", "--out", str(tmp_path / "c"), "--size", "32",
            "--workers", "1", "--quiet"]
    assert main(args) == 0
    assert "40 images cached, 0 skipped" in capsys.readouterr().out
    assert main(args) == 0
    assert "up to date" in capsys.readouterr().out


def test_unwritable_output_is_one_line(tmp_path, capsys):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "face.jpg"
    (tmp_path / "a-file").write_text("x")
    for name in ("out.csv", "out.txt"):  # resumable CSV, and a table written whole
        target = tmp_path / "a-file" / name
        rc = main(["predict", str(example), "--no-detect", "--output", str(target)])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.startswith(f"error: {target}") and "Not a directory" in err
        assert "\n" not in err
