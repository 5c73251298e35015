"""Training: a few real steps, resume, and 2-process DDP (gloo) with identical weights."""

import json
import os
import subprocess
import sys
from dataclasses import asdict
from fractions import Fraction

import pytest
import torch

from amgap.io import write_y4m
from amgap.models import load_checkpoint, weights_hash
from amgap.train import TrainConfig, snapshot, train

TINY = {"mid": 16, "latent": 16, "hyper": 16, "hyper_depth": 2}


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory):
    g = torch.Generator().manual_seed(0)
    base = torch.rand(3, 96, 112, generator=g)
    frames = [torch.roll(base, (i, 2 * i), (1, 2)) for i in range(6)]
    p = tmp_path_factory.mktemp("vid") / "moving.y4m"
    write_y4m(p, frames, Fraction(25))
    return str(p)


def _cfg(out, video, steps):
    return TrainConfig(out=str(out), config=TINY, steps=steps, batch=2, crop=64, frames=2,
                       videos=[video], log_every=1, ckpt_every=1, threads=1)


def test_train_resume_and_checkpoint(tmp_path, tiny_video):
    final = train(_cfg(tmp_path, tiny_video, 2), progress=False)
    train(_cfg(tmp_path, tiny_video, 4), progress=False)  # resumes at step 2
    steps = [json.loads(line)["step"] for line in open(tmp_path / "log.jsonl")]
    assert steps == [1, 2, 3, 4]
    loaded = load_checkpoint(final)
    assert loaded.card["steps"] == 4 and loaded.card["training"]["videos"] == [tiny_video]
    # update() was applied: the model codes real video straight away
    from amgap.coding import encode_video

    res = encode_video([torch.rand(3, 64, 64)], loaded, fps=25, num_frames=1)
    assert res.records[0].streams[0].data


def test_evaluation_clips_refused(tmp_path):
    with pytest.raises(ValueError, match="evaluation"):
        train(TrainConfig(out=str(tmp_path), config=TINY, steps=1, videos=["carphone"]),
              progress=False)


def test_ddp_two_processes_identical_weights(tmp_path, tiny_video):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29517", "-m", "amgap", "train", "--out", str(tmp_path),
           "--width-config", "mid=16,latent=16,hyper=16,hyper_depth=2", "--steps", "3",
           "--batch", "2", "--crop", "64", "--videos", tiny_video, "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    ranks = json.loads((tmp_path / "ranks.json").read_text())
    assert ranks["world_size"] == 2 and len(set(ranks["weights_hash"])) == 1
    card = load_checkpoint(tmp_path / "final.pth").card
    assert card["training"]["world_size"] == 2 and card["steps"] == 3


def test_ddp_motion_objective_identical_weights(tmp_path, tiny_video):
    """``--objective motion`` calls the model's ``motion_loss`` outside DDP's forward:
    its gradients are averaged by hand, so both ranks still end with the same weights
    (they diverged before the fix)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29518", "-m", "amgap", "train", "--out", str(tmp_path),
           "--arch", "lhbdc", "--objective", "motion", "--width-config",
           "N=16,M=16,intra_N=16,intra_M=16,mask_ch=4,flow_levels=3", "--clip-frames", "3",
           "--steps", "3", "--batch", "1", "--crop", "64", "--videos", tiny_video, "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    ranks = json.loads((tmp_path / "ranks.json").read_text())
    assert ranks["world_size"] == 2 and len(set(ranks["weights_hash"])) == 1


def test_b_frame_training_over_a_frozen_base(tmp_path, tiny_video):
    base = train(_cfg(tmp_path / "base", tiny_video, 1), progress=False)
    before = {k: v.clone() for k, v in load_checkpoint(base).model.state_dict().items()}
    cfg = TrainConfig(out=str(tmp_path / "b"), arch="bflow-slim",
                      config={"mid": 16, "latent": 16, "hyper": 16, "base": str(base)},
                      steps=2, batch=2, crop=64, frames=3, strides=(1, 2), videos=[tiny_video],
                      log_every=1, threads=1)
    final = train(cfg, progress=False)
    loaded = load_checkpoint(final)
    assert loaded.arch == "bflow-slim" and loaded.base is not None
    # the base is untouched and the B checkpoint holds only the motion VAE
    assert all(torch.equal(before[k], v) for k, v in loaded.base.model.state_dict().items())
    assert not any(k.startswith(("img_", "res_")) for k in loaded.model.state_dict())
    from amgap.bitstream import parse
    from amgap.coding import decode_video, encode_video

    frames = [torch.rand(3, 64, 64) for _ in range(3)]
    res = encode_video(frames, loaded, fps=25, num_frames=3, gop="lhbdc", gop_size=2)
    assert [s.ftype.name for s in res.stats] == ["I", "I", "B"]
    h, recs = parse(res.to_bytes())
    assert decode_video(h, recs, load_checkpoint(final)).verified
    # fine-tuned over another base: the checkpoint names that base, not its init's
    base2 = train(TrainConfig(**{**asdict(_cfg(tmp_path / "base2", tiny_video, 1)),
                                 "seed": 7}), progress=False)
    cfg2 = TrainConfig(**{**asdict(cfg), "out": str(tmp_path / "b2"), "init": str(final),
                          "config": {**cfg.config, "base": str(base2)}})
    again = load_checkpoint(train(cfg2, progress=False))
    assert again.config["base"] == str(base2)
    assert weights_hash(again.base.model) == weights_hash(load_checkpoint(base2).model)


def _weights(path):
    return {k: v.clone() for k, v in load_checkpoint(path).model.state_dict().items()}


def test_resume_is_exact_to_the_step(tmp_path, tiny_video):
    """Model, optimizer, schedule, data and quantization-noise RNG all resume: a run
    stopped at step 2 and resumed to 4 ends with the weights of a straight 4-step run."""
    def cfg(out, steps):
        c = _cfg(out, tiny_video, steps)
        c.schedule, c.warmup, c.lr, c.frames = "cosine", 2, 1e-3, 3
        return c

    straight = train(cfg(tmp_path / "a", 4), progress=False)
    piece = load_checkpoint(train(cfg(tmp_path / "b", 2), progress=False)).card["run_id"]
    resumed = train(cfg(tmp_path / "b", 4), progress=False)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_checkpoint(resumed).card["run_id"] == piece  # one run, in two pieces
    assert load_checkpoint(straight).card["run_id"] != piece


def test_snapshot_of_a_run_in_progress_is_its_checkpoint(tmp_path, tiny_video):
    """snapshot() rebuilds the checkpoint a run would write from its last state.pt."""
    final = train(_cfg(tmp_path, tiny_video, 2), progress=False)
    snap = snapshot(tmp_path)
    assert snap.name == "snapshot-2.pth"
    a, b = _weights(final), _weights(snap)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_checkpoint(snap).card["steps"] == 2
    assert load_checkpoint(snap).card["run_id"] == load_checkpoint(final).card["run_id"]


def test_cosine_schedule_shape():
    from amgap.train.loop import lr_factor

    c = TrainConfig(out="x", steps=100, schedule="cosine", warmup=10, lr_min=0.05)
    f = [lr_factor(c, s) for s in range(100)]
    assert f[0] == pytest.approx(0.01) and f[10] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(f[:10], f[1:11], strict=True))  # warm-up rises
    assert all(a >= b for a, b in zip(f[10:-1], f[11:], strict=True))  # then decays
    assert f[-1] == pytest.approx(0.05, abs=0.01)
    with pytest.raises(ValueError, match="schedule"):
        train(TrainConfig(out="x", schedule="nope"), progress=False)


def test_still_clips_move_and_stay_in_bounds(tmp_path):
    from PIL import Image

    from amgap.train.data import ClipBank

    g = torch.Generator().manual_seed(1)
    still = tmp_path / "photo.png"
    Image.fromarray((torch.rand(200, 240, 3, generator=g) * 255).byte().numpy()).save(still)
    video = tmp_path / "v.y4m"
    write_y4m(video, [torch.rand(3, 80, 80, generator=g) for _ in range(3)], Fraction(25))
    bank = ClipBank([str(video)], min_size=64, scales=(1.0,), stills=[str(still)],
                    still_share=1.0)
    clips = bank.sample(torch.Generator().manual_seed(3), 6, 4, 64)
    assert len(clips) == 4 and clips[0].shape == (6, 3, 64, 64)
    moved = sum(not torch.equal(clips[0][b], clips[1][b]) for b in range(6))
    assert moved >= 4  # speeds are drawn in [-6, 6] px/frame: most clips move


def test_intra_stage_trains_only_the_keyframe_codec(tmp_path, tiny_video):
    """1-frame clips train the I-frame codec alone: motion and residual weights stay put."""
    base = train(_cfg(tmp_path / "base", tiny_video, 1), progress=False)
    cfg = _cfg(tmp_path / "intra", tiny_video, 2)
    cfg.frames, cfg.init, cfg.lr = 1, str(base), 1e-3
    a, b = _weights(base), _weights(train(cfg, progress=False))
    moved = {k.split("_", 1)[0] for k in a if not torch.equal(a[k], b[k])
             and not k.endswith(("quantiles", "_cdf", "_offset", "_cdf_length"))}
    assert moved == {"img"}


def test_motion_objective_trains_only_the_flow_estimator(tmp_path, tiny_video):
    """``objective="motion"`` (LHBDC's SpyNet stage) updates SpyNet alone, from its
    photometric loss; an architecture without a motion estimator to train alone is
    refused with one line before any work."""
    from amgap.errors import UsageError

    tiny = {"N": 16, "M": 16, "intra_N": 16, "intra_M": 16, "mask_ch": 4,
            "flow_widths": [8, 8], "flow_levels": 3}
    cfg = TrainConfig(out=str(tmp_path / "base"), arch="lhbdc", config=tiny, steps=1,
                      batch=1, crop=64, frames=3, videos=[tiny_video], threads=1,
                      log_every=1)
    base = train(cfg, progress=False)
    cfg.out, cfg.init, cfg.steps, cfg.lr = str(tmp_path / "flow"), str(base), 3, 1e-3
    cfg.objective = "motion"
    a, b = _weights(base), _weights(train(cfg, progress=False))
    moved = {k.split(".", 1)[0] for k in a if not torch.equal(a[k], b[k])}
    assert moved == {"FlowNet"}
    logged = [json.loads(line) for line in open(tmp_path / "flow" / "log.jsonl")]
    assert [r["step"] for r in logged] == [1, 2, 3]
    assert all(r["mse"] > 0 and r["bpp"] == 0 for r in logged)
    bad = _cfg(tmp_path / "ssf", tiny_video, 1)
    bad.frames, bad.objective = 3, "motion"
    with pytest.raises(UsageError, match="no motion estimator"):
        train(bad, progress=False)


def test_cli_recipe_v2_is_the_zoo_recipe_and_flags_override_it(tmp_path, tiny_video):
    """``amgap train --recipe v2`` trains with the zoo's recipe fields (amgap.train.recipes,
    the same the zoo scripts read), halves the peak for a run from --init, and a flag
    given on the command line wins over the recipe; without --recipe nothing changes."""
    from amgap.cli import main
    from amgap.train import recipe

    common = ["--width-config", "mid=16,latent=16,hyper=16,hyper_depth=2", "--steps", "2",
              "--batch", "1", "--crop", "64", "--videos", tiny_video, "--quiet"]
    assert main(["train", "--out", str(tmp_path / "a"), "--recipe", "v2", "--threads", "1",
                 *common]) == 0
    tr = load_checkpoint(tmp_path / "a" / "final.pth").card["training"]
    want = recipe("v2", None, 2, fine_tune=False)
    assert tr["schedule"] == "cosine" and tr["lr"] == want["lr"] == 2e-4
    assert tr["frames"] == 3 and list(tr["scales"]) == list(want["scales"])
    assert tr["threads"] == 1  # the flag, not the recipe's 2
    assert main(["train", "--out", str(tmp_path / "b"), "--recipe", "v2", "--threads", "1",
                 "--clip-frames", "2", "--init", str(tmp_path / "a" / "final.pth"),
                 *common]) == 0
    tr = load_checkpoint(tmp_path / "b" / "final.pth").card["training"]
    assert tr["lr"] == 1e-4 and tr["frames"] == 2
    assert main(["train", "--out", str(tmp_path / "c"), "--threads", "1", *common]) == 0
    tr = load_checkpoint(tmp_path / "c" / "final.pth").card["training"]
    assert tr["schedule"] == "step" and tr["lr"] == 1e-4 and tr["frames"] == 2


def test_wall_budget_plans_the_steps_from_the_measured_speed(tmp_path, tiny_video):
    """A wall-budget run times itself, plans ``steps`` from its speed (re-planned as the
    load changes), saves the count it ended with, and a rerun resumes to that count."""
    from amgap.errors import UsageError
    from amgap.train.loop import BUDGET_PROBE

    def cfg():
        c = _cfg(tmp_path, tiny_video, 1)
        c.wall_budget, c.schedule, c.warmup, c.log_every = 3.0, "cosine", 60, 10
        c.ckpt_every = 10 ** 6  # only the final state
        return c

    final = train(cfg(), progress=False)
    steps = load_checkpoint(final).card["steps"]
    assert steps > BUDGET_PROBE[1]
    state = torch.load(tmp_path / "state.pt", weights_only=False)
    assert state["config"]["steps"] == steps == state["step"]
    assert json.loads(open(tmp_path / "log.jsonl").readlines()[-1])["step"] == steps
    train(cfg(), progress=False)  # resumes at its end: nothing more to do
    assert load_checkpoint(final).card["steps"] == steps
    bad = cfg()
    bad.warmup = 5
    with pytest.raises(UsageError, match="warm-up"):
        train(bad, progress=False)


def test_cli_minutes_is_a_wall_budget(tmp_path, tiny_video):
    from amgap.cli import main
    from amgap.train.loop import BUDGET_PROBE

    assert main(["train", "--out", str(tmp_path), "--minutes", "0.04", "--threads", "1",
                 "--width-config", "mid=16,latent=16,hyper=16,hyper_depth=2", "--batch",
                 "1", "--crop", "64", "--videos", tiny_video, "--quiet"]) == 0
    card = load_checkpoint(tmp_path / "final.pth").card
    assert card["training"]["wall_budget"] == pytest.approx(2.4)
    assert card["steps"] > BUDGET_PROBE[1]


def test_a_run_records_the_lineage_of_its_init(tmp_path, tiny_video):
    """The chain behind a run's init is read while the init is at hand and kept on the
    run's card: exported later, elsewhere (a GPU lease's runs), it still knows its past."""
    import shutil

    from amgap.train.lineage import lineage

    # equal step counts: runs are told apart by the id each draws when it starts
    first = train(_cfg(tmp_path / "a", tiny_video, 1), progress=False)
    second = _cfg(tmp_path / "b", tiny_video, 1)
    second.init = str(first)
    final = train(second, progress=False)
    shutil.rmtree(tmp_path / "a")  # the init is gone (it lived on another machine)
    chain = lineage(final)
    assert [r["run"] for r in chain] == [str(tmp_path / "b"), str(tmp_path / "a")]
    assert [r["steps"] for r in chain] == [1, 1]
    assert chain[0]["id"] and chain[1]["id"] and chain[0]["id"] != chain[1]["id"]
