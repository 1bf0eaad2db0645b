"""Delivery benchmark: our S3 and SFTP destinations against boto3's `upload_file` and paramiko's `put` of the same
file in the same run (a report, not a test).

Generates a CSV-like export file (default 200 MB, random-ish but compressible rows) under `var/bench/deliver/`,
starts SeaweedFS (`weed mini`) and an SFTP server (asyncssh, tests/servers/sftp.py) each in a process of its own,
then alternates, `--runs` times, our destination and the library's own upload for each protocol. Every upload runs
in a fresh subprocess that times the upload alone (connection included, imports excluded) and reports its peak RSS
(VmHWM), so the delivering process's memory is its own. Prints median MB/s, the ratio to the library (median of the
per-pair ratios; target >= 0.9x) and peak RSS (flat: the file is streamed, never read whole).

    .venv/bin/python bench/bench_deliver.py --size-mb 200 --runs 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEED_TARGET = 0.9  # our MB/s at least this share of the library's
MB = 1024 * 1024
WORDS = ("casserole", "inox", "induction", "stylo", "plume", "chef", "bureau", "maison", "cuisine", "argent", "noir")


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: getrusage's ru_maxrss is not reset by exec on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_export_file(path: Path, size: int) -> str:
    """A CSV file of `size` bytes, rows like an export's (kept between runs when its size matches); its SHA-256."""
    if not path.exists() or path.stat().st_size != size:
        rng = random.Random(20260314)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            out.write(b"\xef\xbb\xbfsku;ean;title;brand;price;stock;category\n")
            written = out.tell()
            while written < size:
                rows = []
                for _ in range(2000):
                    n = rng.randrange(10**6)
                    words = " ".join(rng.choices(WORDS, k=4))
                    price = rng.randrange(100, 99999) / 100
                    rows.append(f"SKU-{n:07d};{rng.randrange(10**12):013d};{words} {n};Brand {n % 97};"
                                f"{price:.2f};{n % 500};Maison > {WORDS[n % 11]}\n")  # fmt: skip
                block = "".join(rows).encode()[: size - written]
                out.write(block)
                written += len(block)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# Child processes: one upload each, reporting one JSON line


def child_upload(role: str, file: Path, sha256: str, server: dict[str, Any]) -> dict[str, Any]:
    """Upload `file` once as `role` (ours-s3, boto3, ours-sftp, paramiko); the seconds the upload took."""
    if role == "ours-s3":
        from engine.destinations.base import DeliveryFile, DestinationOptions
        from engine.destinations.s3 import S3Destination

        settings = {"bucket": server["bucket"], "endpoint_url": server["endpoint_url"], "path_style": True}
        secrets = {"access_key_id": server["access_key"], "secret_access_key": server["secret_key"]}
        destination: Any = S3Destination(settings, secrets, DestinationOptions(timeout=120))
    elif role == "ours-sftp":
        from engine.destinations.base import DeliveryFile, DestinationOptions
        from engine.destinations.sftp import SftpDestination

        settings = {"host": "127.0.0.1", "port": server["port"], "username": server["user"],
                    "host_key": server["host_key"]}  # fmt: skip
        destination = SftpDestination(settings, {"password": server["password"]}, DestinationOptions(timeout=120))
    elif role == "boto3":
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3", endpoint_url=server["endpoint_url"], aws_access_key_id=server["access_key"],
            aws_secret_access_key=server["secret_key"], region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip
    else:
        import paramiko
    before = _rss_mb()
    started = time.perf_counter()
    if role in ("ours-s3", "ours-sftp"):
        item = DeliveryFile(file.name, file, file.stat().st_size, sha256, "text/csv")
        destination.deliver([item], f"bench-{role}")
    elif role == "boto3":
        client.upload_file(str(file), server["bucket"], f"bench-boto3/{file.name}")
    else:
        transport = paramiko.Transport(("127.0.0.1", server["port"]))
        try:
            transport.connect(username=server["user"], password=server["password"])
            sftp = paramiko.SFTPClient.from_transport(transport)
            assert sftp is not None
            try:
                sftp.put(str(file), f"{file.name}.paramiko")
            finally:
                sftp.close()
        finally:
            transport.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": _peak_rss_mb()}


def serve_sftp(root: Path) -> None:
    """Run the tests' asyncssh SFTP server until stdin closes; print how to reach it as one JSON line."""
    from tests.servers.sftp import SftpServer

    with SftpServer(root) as server:
        print(json.dumps({"port": server.port, "user": server.user, "password": server.password,
                          "host_key": server.host_key_line}), flush=True)  # fmt: skip
        sys.stdin.read()


def run_child(role: str, file: Path, sha256: str, server: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", role, "--file", str(file), "--sha256", sha256]
    proc = subprocess.run([*cmd, "--server", json.dumps(server)], capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"the {role} upload failed (exit code {proc.returncode})")
    return dict(json.loads(lines[-1]))


# ---------------------------------------------------------------------------------------------------------
# The benchmark


def measure(
    pairs: list[tuple[str, str]], file: Path, sha256: str, servers: dict[str, dict[str, Any]], runs: int
) -> dict[str, list[dict[str, Any]]]:
    """`runs` rounds; each round runs every pair (ours, the library's), the order within a pair alternating."""
    samples: dict[str, list[dict[str, Any]]] = {role: [] for pair in pairs for role in pair}
    for run in range(runs):
        for ours, theirs in pairs:
            protocol = "s3" if ours == "ours-s3" else "sftp"
            for role in (ours, theirs) if run % 2 == 0 else (theirs, ours):
                sample = run_child(role, file, sha256, servers[protocol])
                samples[role].append(sample)
                rate = file.stat().st_size / MB / sample["seconds"]
                print(
                    f"  run {run + 1} {role:<10} {rate:7.1f} MB/s  peak RSS {sample['peak_rss_mb']:.0f} MB", flush=True
                )
    return samples


def report(pairs: list[tuple[str, str]], samples: dict[str, list[dict[str, Any]]], size: int) -> list[str]:
    lines = [
        "| protocol | ours MB/s | library MB/s | ratio (target) | ours peak RSS (before upload) | library peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for ours, theirs in pairs:
        ours_rates = [size / MB / s["seconds"] for s in samples[ours]]
        their_rates = [size / MB / s["seconds"] for s in samples[theirs]]
        ratio = statistics.median(a / b for a, b in zip(ours_rates, their_rates, strict=True))
        verdict = "OK" if ratio >= SPEED_TARGET else "MISS"
        ours_rss = max(s["peak_rss_mb"] for s in samples[ours])
        before = max(s["rss_before_mb"] for s in samples[ours])
        their_rss = max(s["peak_rss_mb"] for s in samples[theirs])
        lines.append(
            f"| {ours.removeprefix('ours-')} vs {theirs} | {statistics.median(ours_rates):.1f} | "
            f"{statistics.median(their_rates):.1f} | {ratio:.2f}× (≥ {SPEED_TARGET}×) {verdict} | "
            f"{ours_rss:.0f} MB ({before:.0f} MB) | {their_rss:.0f} MB |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the export file (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="uploads of each kind (default 3)")
    parser.add_argument("--only", choices=("s3", "sftp"), help="one protocol only")
    parser.add_argument("--var", type=Path, default=ROOT / "var" / "bench" / "deliver", help="folder of the file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--serve-sftp", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sha256", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sftp:
        serve_sftp(args.serve_sftp)
        return
    if args.child:
        print(json.dumps(child_upload(args.child, args.file, args.sha256, json.loads(args.server))))
        return
    if not 1 <= args.size_mb <= 10_000 or not 1 <= args.runs <= 50:
        parser.error("--size-mb must be 1 to 10000 and --runs 1 to 50")

    from tests.s3_server import run_weed

    size = args.size_mb * MB
    file = args.var / f"export-{args.size_mb}mb.csv"
    print(f"export file {file} ({args.size_mb} MB)…", flush=True)
    sha256 = make_export_file(file, size)
    pairs = [p for p in (("ours-s3", "boto3"), ("ours-sftp", "paramiko")) if args.only in (None, p[0][5:])]
    with tempfile.TemporaryDirectory(prefix="bench-deliver-", dir=args.var) as scratch:
        sftp_root = Path(scratch) / "sftp"
        sftp_root.mkdir()
        sftp = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-sftp", str(sftp_root)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert sftp.stdout is not None
            servers: dict[str, dict[str, Any]] = {"sftp": json.loads(sftp.stdout.readline())}
            weed_folder = Path(scratch) / "weed"
            weed_folder.mkdir()
            with run_weed(weed_folder) as s3:
                servers["s3"] = {"endpoint_url": s3.endpoint_url, "bucket": s3.new_bucket(),
                                 "access_key": s3.access_key, "secret_key": s3.secret_key}  # fmt: skip
                samples = measure(pairs, file, sha256, servers, args.runs)
        finally:
            if sftp.stdin is not None:
                sftp.stdin.close()
            sftp.wait(timeout=30)
    lines = report(pairs, samples, size)
    print(f"\n{args.size_mb} MB, {args.runs} runs each, {os.cpu_count()} CPUs; medians:")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "python")]
    main()
