"""A big file through the import job (the path every upload takes), in its own process:
peak memory, time, rows per second.

    .venv/bin/python bench/import_memory.py                    # 1,000,000 reviews, SQLite
    .venv/bin/python bench/import_memory.py --rows 200000 --kind orders --database postgresql://postgres@127.0.0.1:5432/test

The file is generated (realistic shapes: Chinese texts, a buyer pool, dates of the last
month); the import runs as ``flask import`` in a child process whose peak resident memory
the kernel reports. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import FLASK, ROOT, app_env
from tracker import create_app
from tracker.config import normalise_database_url
from tracker.database import throwaway_database
from tracker.extensions import db
from tracker.models import Shop
from tracker.models.enums import Platform

HAPPY = ["很好，物流也快", "还会回购", "质量不错，孩子喜欢", "包装很用心", "性价比高", "好评"]
UNHAPPY = ["快递太慢了", "质量一般", "橙子坏了好几个，太差了", "包装破了"]
NAMES = ["郑俊杰", "李雷", "韩梅梅", "王芳", "欧阳娜娜", "张伟", "刘洋"]


def write_file(path: Path, kind: str, rows: int) -> None:
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=29)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        if kind == "reviews":
            writer.writerow(
                [
                    "订单编号",
                    "子订单编号",
                    "买家会员名",
                    "评价结果",
                    "评价内容",
                    "评价时间",
                    "宝贝ID",
                ]
            )
        else:
            writer.writerow(
                [
                    "订单编号",
                    "子订单编号",
                    "买家会员名",
                    "实付金额",
                    "订单付款时间",
                    "宝贝ID",
                    "宝贝名称",
                    "购买数量",
                    "价格",
                    "收货人姓名",
                    "收货地址",
                ]
            )
        for n in range(rows):
            moment = (start + timedelta(seconds=n * 2)).strftime("%Y-%m-%d %H:%M:%S")
            buyer = f"买家{rng.randrange(200_000)}"
            item = str(rng.randrange(2_000))
            if kind == "reviews":
                # as a shop's reviews go: nearly all good, a few percent neutral and bad
                rating = rng.choices(["好评", "中评", "差评"], weights=[94, 3, 3])[0]
                texts = HAPPY if rating == "好评" else UNHAPPY
                writer.writerow([f"T{n}", str(n), buyer, rating, rng.choice(texts), moment, item])
            else:
                writer.writerow(
                    [
                        f"T{n // 2}",
                        f"T{n // 2}-{n % 2}",
                        buyer,
                        "59.00",
                        moment,
                        item,
                        "大促商品",
                        "1",
                        "29.50",
                        NAMES[int(buyer[2:]) % len(NAMES)],  # sealed per buyer
                        f"浙江省杭州市西湖区文三路 {int(buyer[2:]) % 500} 号",
                    ]
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=["reviews", "orders"], default="reviews")
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL server URL")
    args = parser.parse_args()
    server = None if args.database == "sqlite" else normalise_database_url(args.database)
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(server, Path(tmp)) as url:
        data = Path(tmp) / f"{args.kind}.csv"
        write_file(data, args.kind, args.rows)
        env = app_env(url, shop="bench")
        subprocess.run(
            [*FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        app = create_app({"SQLALCHEMY_DATABASE_URI": url}, instance_path=tmp)
        with app.app_context():
            db.session.add(
                Shop(
                    code="bench",
                    name="压测店",
                    platform=Platform.TMALL,
                    created_at=datetime.now(UTC),
                )
            )
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        file_mb = round(data.stat().st_size / 2**20, 1)
        log = Path(tmp) / "import.log"
        started = time.perf_counter()
        with log.open("w") as out:
            child = subprocess.Popen(
                [*FLASK, "import", args.kind, str(data), "--shop", "bench"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, nothing else's
        seconds = time.perf_counter() - started
        output = log.read_text(encoding="utf-8", errors="replace")
    print(output[-1500:], file=sys.stderr)
    report = {
        "kind": args.kind,
        "database": "postgresql" if server else "sqlite",
        "rows": args.rows,
        "file_mb": file_mb,
        "exit_code": os.waitstatus_to_exitcode(status),
        "seconds": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # kB on Linux
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
