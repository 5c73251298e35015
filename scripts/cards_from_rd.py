"""Put ``benchmarks/rd_vs_classic.py``'s figures on the zoo cards they measured.

    python benchmarks/rd_vs_classic.py --models amgap-ssf,amgap-bflow --out rd
    python scripts/cards_from_rd.py rd/rd_vs_classic.json

Each card of a measured model gets ``rd_vs_classic``: the settings and date of the run,
this quality's RD point on every clip and GOP, and the BD-rates of the model's curves
(a curve spans every quality, so every card of the model carries the same BD-rates).
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from amgap.zoo import WEIGHTS_DIR


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    res = json.loads(Path(ap.parse_args().json).read_text())
    models = res["settings"]["models"]
    # None: the run measured every zoo model (the command then names none)
    models = ",".join(models) if isinstance(models, list) else models
    command = "python benchmarks/rd_vs_classic.py" + (f" --models {models}" if models else "")
    for path in sorted(WEIGHTS_DIR.glob("*.json")):
        card = json.loads(path.read_text())
        name, q = card.get("name"), card.get("quality")
        curves = [c for c in res["curves"] if c["name"].split("/")[0] == name]
        if not curves:
            continue
        points = {f"{c['clip']} {c['name'].split('/')[1]}": p
                  for c in curves for p in c["points"] if p["setting"] == q}
        card["rd_vs_classic"] = {
            "command": command,
            "date": datetime.date.today().isoformat(),
            "frames": res["settings"]["frames"], "reparam": res["settings"]["reparam"],
            "points": {k: {f: p[f] for f in ("bpp", "psnr_rgb", "psnr_y")}
                       for k, p in points.items()},
            "bd_rate_percent": [{k: b[k] for k in ("clip", "curve", "anchor",
                                                   "bd_rate_percent", "overlap_db")}
                                for b in res["bd_rate"]
                                if b["curve"].split("/")[0] == name],
        }
        path.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        n_bd = len(card["rd_vs_classic"]["bd_rate_percent"])
        print(f"{path.name}: {len(points)} points, {n_bd} BD-rates")


if __name__ == "__main__":
    main()
