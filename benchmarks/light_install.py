"""The light install: a fresh virtual environment with no extras, its size and its speed.

    python benchmarks/light_install.py [--keep DIR]

Creates a new venv, installs this checkout without extras (``pip install .``), runs the Quick
start's first command (``faceattr predict examples/face.jpg``), checks that torch is not
installed, and prints: install + first predict time, venv size on disk, and the wall time of
the whole ``faceattr predict`` command on one image (median of 5, detection on).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="build the venv here and keep it")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    venv = args.keep or tmp / "venv"
    example = str(ROOT / "examples" / "face.jpg")
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py, fa = venv / "bin" / "python", venv / "bin" / "faceattr"
        subprocess.run([str(py), "-m", "pip", "install", "-q", str(ROOT)], check=True,
                       cwd=tmp)
        subprocess.run([str(fa), "predict", example], check=True, cwd=tmp,
                       stdout=subprocess.DEVNULL)
        setup = time.perf_counter() - t0
        torch = subprocess.run([str(py), "-c", "import importlib.util as u; "
                                "print(u.find_spec('torch') is not None)"],
                               capture_output=True, text=True, check=True).stdout.strip()
        walls = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([str(fa), "predict", example], check=True, cwd=tmp,
                           stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t)
        print(f"fresh venv + pip install . + first 'faceattr predict': {setup:.1f} s")
        print(f"venv size on disk: {du(venv) / 1e6:.0f} MB; torch installed: {torch}")
        print(f"'faceattr predict examples/face.jpg' (whole command, detection on): median "
              f"{statistics.median(walls):.2f} s, min {min(walls):.2f} s over 5 runs")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
