"""The contract in proto/: every RPC, field and enum value is commented, and the generated code is current."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto" / "pm" / "exports" / "v1"
DECLARATION = re.compile(
    r"^\s*(rpc \w+\(|(optional |repeated )?(map<[\w, .]+>|[\w.]+) \w+ = \d+;|[A-Z][A-Z0-9_]* = \d+;)"
)


def test_every_rpc_field_and_enum_value_has_a_comment() -> None:
    missing = []
    for path in sorted(PROTO_DIR.glob("*.proto")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if DECLARATION.match(line) and "option " not in line:
                previous = lines[number - 1].strip()
                if not previous.startswith("//"):
                    missing.append(f"{path.name}:{number + 1}: {line.strip()}")
    assert missing == []
    assert len(list(PROTO_DIR.glob("*.proto"))) == 6


def test_generated_code_is_current() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"], capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_stale_check_lists_the_stale_files(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_proto
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    copy = tmp_path / "v1"
    shutil.copytree(gen_proto.OUT_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert gen_proto.stale_files(copy) == []
    (copy / "catalog_pb2.pyi").write_text("# edited by hand\n")
    (copy / "old_pb2.py").write_text("")
    (copy / "exports_pb2_grpc.py").unlink()
    assert gen_proto.stale_files(copy) == ["catalog_pb2.pyi", "exports_pb2_grpc.py", "old_pb2.py"]
