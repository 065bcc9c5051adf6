"""The Python package the Glue job imports, zipped reproducibly for `--extra-py-files`.

The zip holds `gluescripts/` (its modules, `etl/`, schema.json and ruleset.dqdl) so the job imports
`gluescripts.etl...` exactly as the tests and the local runner do. Fixed timestamps and order make
the same sources give the same bytes, and so the same asset hash.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "gluescripts"
ENTRYPOINT = PACKAGE_DIR / "json_to_pq.py"
_SHIPPED_SUFFIXES = (".py", ".json", ".dqdl")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def package_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Every file the job needs at run time, except the entrypoint Glue runs as a script."""
    return sorted(
        path
        for path in package_dir.rglob("*")
        if path.is_file()
        and path.suffix in _SHIPPED_SUFFIXES
        and path != ENTRYPOINT
        and "__pycache__" not in path.parts
    )


def build_package_zip(package_dir: Path = PACKAGE_DIR) -> Path:
    """Write the zip to a content-addressed path in the temp folder and return that path."""
    files = package_files(package_dir)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(package_dir.parent)).encode() + b"\0" + path.read_bytes())
    target = Path(tempfile.gettempdir()) / "glue-etl-pipeline" / f"gluescripts-{digest.hexdigest()[:16]}.zip"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                entry = zipfile.ZipInfo(str(path.relative_to(package_dir.parent)), date_time=_ZIP_DATE)
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
        partial.replace(target)
    return target
