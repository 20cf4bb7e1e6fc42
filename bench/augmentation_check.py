#!/usr/bin/env python3
"""The reference's side of the augmentation check (issue 25): runs batchgeneratorsv2's own
transforms, as nnU-Net v2's nnUNetTrainer configures them, on the inputs that
medseg_augmentation_check wrote, with the same parameters, and compares with medseg's outputs.

    python bench/augmentation_check.py DIR [--json OUT]

Run with the reference's venv (scripts/install-reference.sh); scripts/check-augmentation.sh
runs both sides. Prints a table and writes one JSON object (DIR/comparison.json or --json).

Compared:
- spatial: rotation + scaling of a labelled phantom, 3D, in-plane (nnU-Net's "dummy 2D" for
  anisotropic patches: the 3D patch turned into 2D slices) and 2D: share of equal labels and the
  largest image difference;
- blur: GaussianBlurTransform's blur_dimension per axis with the same sigmas;
- low resolution: SimulateLowResolutionTransform with the same zoom;
- draws: the scale factor of the spatial transform (nnU-Net: uniform [0.7, 1.4], one for all
  axes) and the brightness multiplier (BGContrast((0.75, 1.25))), medseg's samples against the
  reference's: quantiles and the two-sample Kolmogorov-Smirnov statistic with its p-value.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

import batchgeneratorsv2
from batchgeneratorsv2.transforms.intensity.brightness import MultiplicativeBrightnessTransform
from batchgeneratorsv2.transforms.intensity.contrast import BGContrast
from batchgeneratorsv2.transforms.noise.gaussian_blur import blur_dimension
from batchgeneratorsv2.transforms.spatial.low_resolution import SimulateLowResolutionTransform
from batchgeneratorsv2.transforms.spatial import spatial as bg_spatial
from batchgeneratorsv2.transforms.spatial.spatial import SpatialTransform


def reference_spatial(case, image, labels, mode_seg="bilinear"):
    """nnUNetTrainer.get_training_transforms' SpatialTransform with the case's angles and scale
    forced: the parameters come from get_parameters with p_rotation = p_scaling = 1 and the
    random draws replaced by the case's values."""
    patch = case["patch"]
    angles = case["angles"] or [0.0] * 3
    scale = case["scale"]
    in_plane = case["in_plane_only"]
    if in_plane:  # Convert3DTo2DTransform: (c, x, y, z) -> (c * x, y, z)
        image = image.reshape(-1, *image.shape[2:])
        labels = labels.reshape(-1, *labels.shape[2:])
        patch = patch[1:]
    dims = len(patch)
    t = SpatialTransform(patch, patch_center_dist_from_border=0, random_crop=False,
                         p_elastic_deform=0, p_rotation=1, rotation=(0.0, 0.0), p_scaling=1,
                         scaling=(scale, scale), p_synchronize_scaling_across_axes=1,
                         bg_style_seg_sampling=False, mode_seg=mode_seg)
    # Rotation angles per axis: 3D draws one per axis in order; 2D uses the last one.
    if dims == 3:
        draws = iter(angles)
        t.rotation = lambda **kwargs: next(draws)
    else:
        t.rotation = angles[0] if in_plane else angles[-1]
    params = t.get_parameters(image=image)
    out_image = t._apply_to_image(image.clone(), **params)
    out_labels = t._apply_to_segmentation(labels.clone(), **params)
    if in_plane:
        out_image = out_image.reshape(-1, *case["patch"])
        out_labels = out_labels.reshape(-1, *case["patch"])
    return out_image, out_labels


def compare_spatial(d, case):
    image = torch.from_numpy(np.load(os.path.join(d, case["image_in"])))
    labels = torch.from_numpy(np.load(os.path.join(d, case["labels_in"])))
    ref_image, ref_labels = reference_spatial(case, image, labels)
    ms_image = torch.from_numpy(np.load(os.path.join(d, case["image_out"])))
    ms_labels = torch.from_numpy(np.load(os.path.join(d, case["labels_out"])))
    assert ref_labels.shape == ms_labels.shape, (ref_labels.shape, ms_labels.shape)
    # Both systems end with "-1 -> 0" in the training target (RemoveLabelTansform / medseg's
    # masked_fill); compare those targets as well as the raw maps.
    # What nearest-neighbour label sampling (medseg before issue 25) gives for the same draw.
    _, nearest_labels = reference_spatial(case, image, labels, mode_seg="nearest")
    nearest_equal = (nearest_labels.clamp_min(0) == ref_labels.clamp_min(0)).double().mean().item()
    equal = (ref_labels == ms_labels).double().mean().item()
    target_equal = (ref_labels.clamp_min(0) == ms_labels.clamp_min(0)).double().mean().item()
    per_label = {}
    for v in torch.unique(torch.cat([ref_labels.flatten(), ms_labels.flatten()])).tolist():
        r, m = ref_labels == v, ms_labels == v
        denom = (r.sum() + m.sum()).item()
        per_label[str(v)] = 2 * (r & m).sum().item() / denom if denom else float("nan")
    return {
        "name": case["name"], "kind": "spatial", "angles": case["angles"], "scale": case["scale"],
        "label_agreement": equal, "target_agreement": target_equal, "dice_per_value": per_label,
        "nearest_sampling_target_agreement": nearest_equal,
        "image_max_abs_diff": (ref_image - ms_image).abs().max().item(),
    }


def compare_blur(d, case):
    image = torch.from_numpy(np.load(os.path.join(d, case["image_in"])))
    ref = image.clone()
    for axis, sigma in enumerate(case["sigmas"]):
        ref = blur_dimension(ref, sigma, axis)
    ms = torch.from_numpy(np.load(os.path.join(d, case["image_out"])))
    return {"name": case["name"], "kind": "blur", "sigmas": case["sigmas"],
            "image_max_abs_diff": (ref - ms).abs().max().item(),
            "image_range": (ref.max() - ref.min()).item()}


def compare_low_resolution(d, case):
    image = torch.from_numpy(np.load(os.path.join(d, case["image_in"])))
    t = SimulateLowResolutionTransform(scale=(case["zoom"], case["zoom"]), synchronize_channels=False,
                                       synchronize_axes=True, ignore_axes=None,
                                       allowed_channels=None, p_per_channel=1)
    ref = t._apply_to_image(image.clone(), **t.get_parameters(image=image))
    ms = torch.from_numpy(np.load(os.path.join(d, case["image_out"])))
    return {"name": case["name"], "kind": "low_resolution", "zoom": case["zoom"],
            "image_max_abs_diff": (ref - ms).abs().max().item(),
            "image_range": (ref.max() - ref.min()).item()}


def ks_two_sample(a, b):
    """Two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value (no SciPy needed)."""
    a, b = np.sort(np.asarray(a)), np.sort(np.asarray(b))
    values = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, values, side="right") / len(a)
    cdf_b = np.searchsorted(b, values, side="right") / len(b)
    stat = float(np.max(np.abs(cdf_a - cdf_b)))
    n = len(a) * len(b) / (len(a) + len(b))
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * stat
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return stat, float(min(max(p, 0.0), 1.0))


def compare_draws(medseg_draws, n, seed=0):
    np.random.seed(seed)
    torch.manual_seed(seed)
    t = SpatialTransform((8, 8, 8), 0, False, p_elastic_deform=0, p_rotation=0, p_scaling=1,
                         scaling=(0.7, 1.4), p_synchronize_scaling_across_axes=1,
                         bg_style_seg_sampling=False)
    image = torch.zeros((1, 8, 8, 8))
    ref_scale = [float(t.get_parameters(image=image)["affine"][0][0]) for _ in range(n)]
    b = MultiplicativeBrightnessTransform(multiplier_range=BGContrast((0.75, 1.25)),
                                          synchronize_channels=False, p_per_channel=1)
    ref_brightness = [float(b.get_parameters(image=image)["multipliers"][0]) for _ in range(n)]
    # The rule medseg used before (batchgenerators v1's "below or above 1 with equal chance"),
    # to show the test can tell the two apart.
    old_rule = [np.random.uniform(0.7, 1.0) if np.random.random() < 0.5 else np.random.uniform(1.0, 1.4)
                for _ in range(n)]
    out = {}
    for name, ours, ref in [("scale", medseg_draws["scale"], ref_scale),
                            ("brightness", medseg_draws["brightness"], ref_brightness),
                            ("scale_old_rule_vs_reference", old_rule, ref_scale)]:
        stat, p = ks_two_sample(ours, ref)
        q = [0.01, 0.25, 0.5, 0.75, 0.99]
        out[name] = {"ks": stat, "p_value": p, "n": [len(ours), len(ref)],
                     "quantiles": q, "medseg" if "old" not in name else "old_rule":
                         np.quantile(ours, q).round(4).tolist(),
                     "reference": np.quantile(ref, q).round(4).tolist(),
                     "share_below_1": [float(np.mean(np.asarray(ours) < 1)),
                                       float(np.mean(np.asarray(ref) < 1))]}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--json")
    args = parser.parse_args()
    with open(os.path.join(args.dir, "cases.json")) as f:
        spec = json.load(f)
    torch.set_num_threads(2)
    results = []
    for case in spec["cases"]:
        kind = case["kind"]
        if kind == "spatial":
            results.append(compare_spatial(args.dir, case))
        elif kind == "blur":
            results.append(compare_blur(args.dir, case))
        elif kind == "low_resolution":
            results.append(compare_low_resolution(args.dir, case))
        else:
            sys.exit(f"{args.dir}/cases.json: unknown case kind {kind!r}")
    draws = compare_draws(spec["draws"], len(spec["draws"]["scale"]))
    report = {"batchgeneratorsv2": getattr(batchgeneratorsv2, "__version__", None) or
              __import__("importlib.metadata").metadata.version("batchgeneratorsv2"),
              "torch": torch.__version__, "cases": results, "draws": draws}
    for r in results:
        if r["kind"] == "spatial":
            print(f"{r['name']:<22} labels equal {100 * r['label_agreement']:8.4f}%  "
                  f"targets equal {100 * r['target_agreement']:8.4f}% "
                  f"(nearest: {100 * r['nearest_sampling_target_agreement']:7.3f}%)  "
                  f"image max |diff| {r['image_max_abs_diff']:.2e}")
        else:
            print(f"{r['name']:<22} image max |diff| {r['image_max_abs_diff']:.2e} "
                  f"(range {r['image_range']:.2f})")
    for name, r in draws.items():
        print(f"draws {name:<28} KS {r['ks']:.4f} (p {r['p_value']:.3f}), share below 1: "
              f"{r['share_below_1'][0]:.3f} vs reference {r['share_below_1'][1]:.3f}")
    out = args.json or os.path.join(args.dir, "comparison.json")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
