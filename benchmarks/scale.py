"""Benchmark: data preparation as the corpus grows: wall time, MB/s and peak memory per job.

Usage (from the repository root)::

    .venv/bin/python benchmarks/scale.py [--sizes-mb 64 256 1024 2048] [--sample-mb 64]
        [--vocab 8000] [--block 128] [--workdir DIR] [--json PATH]

For each size it writes a synthetic corpus of that many MB of UTF-8 text (WikiText-style
articles of Zipf-distributed words in files of 64 MB, as a large local corpus comes), then
runs the workflow's three data jobs on it, each in a fresh Python process, as the rules
run them:

* ``prepare_corpus`` (:func:`embryo.data.corpus.prepare_corpus`: files streamed a chunk
  at a time, 0.1% of the articles held out, Parquet written a record batch at a time);
* ``train_tokenizer`` (:func:`embryo.data.tokenizer.train_tokenizer_from_parquet`, unigram
  by SentencePiece, on a seeded sample of ``--sample-mb`` MB: ``sample_chars``);
* ``tokenize_corpus`` (:func:`embryo.data.blocks.pack_corpus`: datasets' batched map over
  memory-mapped Arrow, blocks of ``--block``).

Each job's memory is read two ways. ``peak_mb``: the child process's maximum resident set
size (``wait4``'s ``ru_maxrss``), which counts the pages of memory-mapped files the job has
touched (datasets reads and writes Arrow files through ``mmap``: those pages are the page
cache's, dropped under pressure, not memory the job holds). ``anon_peak_mb``: the largest
anonymous resident memory (``RssAnon`` of ``/proc/<pid>/status``, sampled every 20 ms),
the memory the job cannot give back: the one that must stay flat. The target (issue 20):
peak memory flat as the corpus grows, at 2 GB within 1.2x of the smallest size and under
4 GB. It prints a table and, with ``--json``, writes the numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILE_MB = 64

JOBS = {
    "prepare_corpus": """
from embryo.data.corpus import prepare_corpus
spec = {"source": "local", "files": ["corpus/*.txt"], "format": "wikitext",
        "validation_fraction": 0.001, "seed": 0}
print(prepare_corpus(spec, W, f"{W}/train.parquet", f"{W}/validation.parquet"))
""",
    "train_tokenizer": """
from embryo.data.tokenizer import train_tokenizer_from_parquet
print(train_tokenizer_from_parquet(f"{W}/train.parquet", f"{W}/tokenizer", algorithm="unigram",
      vocab_size=VOCAB, lowercase=True, min_frequency=2, sample_chars=SAMPLE))
""",
    "tokenize_corpus": """
from embryo.data.blocks import pack_corpus
print(pack_corpus(f"{W}/tokenizer", f"{W}/train.parquet", f"{W}/validation.parquet",
      f"{W}/blocks", block_size=BLOCK))
""",
}


def write_corpus(root: Path, megabytes: int, seed: int = 0) -> int:
    """Write about ``megabytes`` MB of WikiText-style articles; the bytes written."""
    import numpy as np

    rng = np.random.default_rng(seed)
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    words = ["".join(rng.choice(letters, size=rng.integers(2, 9))) for _ in range(50_000)]
    cdf = np.cumsum(1.0 / np.arange(1, len(words) + 1))  # Zipf's law, s = 1
    cdf /= cdf[-1]
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    target, written, article, part = megabytes * 2**20, 0, 0, 0
    while written < target:
        chunk = []
        size = 0
        while size < min(FILE_MB * 2**20, target - written):
            lines = [f" = Article {article} = ", ""]
            lengths = rng.integers(40, 160, size=int(rng.integers(3, 12)))
            ids = np.searchsorted(cdf, rng.random(int(lengths.sum())), side="right")
            for paragraph in np.split(ids, np.cumsum(lengths)[:-1]):
                lines += [" " + " ".join([words[i] for i in paragraph]) + " .", ""]
            text = "\n".join(lines) + "\n"
            chunk.append(text)
            size += len(text)
            article += 1
        (root / "corpus" / f"part-{part:04d}.txt").write_text("".join(chunk))
        written += size
        part += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[64, 256, 1024, 2048])
    parser.add_argument("--sample-mb", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="embryo-scale-", dir=args.workdir) as tmp:
        for size in args.sizes_mb:
            workdir = Path(tmp) / f"{size}mb"
            written = write_corpus(workdir, size)
            for name in JOBS:
                result = measure(name, workdir, args)
                rows.append(
                    {
                        "size_mb": written / 2**20,
                        "job": name,
                        **result,
                        "mb_per_s": written / 2**20 / result["seconds"],
                    }
                )
                print(
                    f"{written / 2**20:8.0f} MB  {name:16s} {result['seconds']:8.1f} s "
                    f"{rows[-1]['mb_per_s']:8.2f} MB/s  peak {result['peak_mb']:7.0f} MB "
                    f"(anonymous {result['anon_peak_mb']:7.0f} MB)",
                    flush=True,
                )
            subprocess.run(["rm", "-rf", str(workdir)], check=True)
    first = [r for r in rows if r["size_mb"] == rows[0]["size_mb"]]
    smallest = {r["job"]: r for r in first}
    print("\npeak memory relative to the smallest corpus, per job (RSS; anonymous):")
    for r in rows[len(first) :]:
        base = smallest[r["job"]]
        print(
            f"  {r['size_mb']:6.0f} MB {r['job']:16s} {r['peak_mb'] / base['peak_mb']:.2f}x; "
            f"{r['anon_peak_mb'] / base['anon_peak_mb']:.2f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def rss_anon(pid: int) -> int:
    """The anonymous resident memory of ``pid`` in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(name: str, workdir: Path, args) -> dict:
    """``name`` in a child process, its peak RSS from wait4."""
    prelude = f"W = {str(workdir)!r}; VOCAB = {args.vocab}; BLOCK = {args.block}; "
    prelude += f"SAMPLE = {args.sample_mb * 2**20}\n"
    started = time.perf_counter()
    log = workdir / f"{name}.log"
    with open(log, "w") as sink:  # files, not pipes: the child never blocks on a full pipe
        child = subprocess.Popen(
            [sys.executable, "-c", prelude + JOBS[name]],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        anon = 0
        while True:  # sample the child's anonymous memory until it exits
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            anon = max(anon, rss_anon(child.pid))
            time.sleep(0.02)
    seconds = time.perf_counter() - started
    out = log.read_text()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{name} failed:\n{out[-3000:]}")
    return {
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,
        "anon_peak_mb": anon / 1024,
        "output": out.strip().splitlines()[-1][:300] if out.strip() else "",
    }


if __name__ == "__main__":
    main()
