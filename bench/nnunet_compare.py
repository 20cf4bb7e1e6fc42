#!/usr/bin/env python3
"""medseg predicting with a results folder of the reference nnU-Net v2, against the reference
itself on the same model, image and CPU (issue #21): exactness at full size, seconds per case
and peak memory, mirrored and not. Run by scripts/compare-nnunet.sh (which builds medseg and
installs the reference venv); run this file with that venv's python.

Per scenario: a synthetic dataset (`medseg synth`: training cases at the plan's spacing, one
test image at another spacing, so that both tools resample in and out), planned by the
reference (bench/reference_bench.py plan), a reference results folder with freshly initialised
weights (seed 0, saved by the reference trainer's save_checkpoint: the reference's own
checkpoint format), then for mirroring off and on:
  reference, float16 window: bench/reference_bench.py predict as nnUNetv2_predict computes (its
    Gaussian map and sliding-window sums in float16), probabilities saved;
  reference, float32 window: the same with those two in float32 (Float32SlidingWindow);
  medseg fp32 and medseg in its default precision: `medseg predict -m <that results folder>`;
  medseg fp32 with --accumulate float16 (the reference's float16 window reproduced).
Reported: max |p_medseg - p_reference| against each reference run (fp32 medseg), the share of
voxels whose labels agree, each tool's seconds per case (the reference: preprocessing, sliding
window and export of one case, model loading apart; medseg: its per-case log line) and peak
RSS (each run its own process).

    PY=.deps/nnunetv2-2.6.0/bin/python
    $PY bench/nnunet_compare.py --medseg build/medseg --work WORK [--scenarios hippocampus,large]
        [--repeat N] [--threads 2] [--exactness-runs all|unmirrored] [--out WORK/nnunet-compare.json]

Scenarios: hippocampus (training cases 36x50x35 at 1 mm, test image 40x56x40 at 0.9 x 1.1 x 0.9
mm), large (training cases 200x256x256 at 1 mm, test image 200x256x256 at 0.9 mm: the issue's
256x256x200), small (a check of this script, in minutes).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_BENCH = ROOT / 'bench' / 'reference_bench.py'
SCENARIOS = {  # training shape, spacing; test shape, spacing (z y x)
    'hippocampus': ((36, 50, 35), (1, 1, 1), (40, 56, 40), (0.9, 1.1, 0.9)),
    'large': ((200, 256, 256), (1, 1, 1), (200, 256, 256), (0.9, 0.9, 0.9)),
    'small': ((24, 40, 40), (2, 1, 1), (22, 44, 40), (2.3, 0.9, 1.1)),
}


def log(message: str) -> None:
    print(f'nnunet-compare: {message}', file=sys.stderr, flush=True)


def medseg_run(medseg: str, model: Path, images: Path, out: Path, mirrored: bool,
               precision: str, threads: int, accumulate: str = 'float32') -> Dict[str, Any]:
    command = [medseg, '--threads', str(threads), 'predict', '-i', str(images),
               '-o', str(out), '-m', str(model), '-f', '0', '--save-probabilities',
               '--no-postprocessing', '--precision', precision, '--accumulate', accumulate]
    if not mirrored:
        command.append('--no-mirroring')
    # Popen + wait4 for this child's own peak RSS.
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f'nnunet-compare: medseg predict failed:\n{output[-4000:]}')
    per_case = [float(s) for s in re.findall(r'\] \S+ -> .*\((\d+(?:\.\d+)?) s\)', output)]
    return {'seconds_per_case': per_case[0] if per_case else None, 'process_seconds': wall,
            'peak_rss_mb': usage.ru_maxrss / 1024, 'precision': precision,
            'accumulate': accumulate}


def reference_run(python: str, work: Path, images: Path, out: Path, mirrored: bool,
                  window: str, threads: int, repeat: int) -> Dict[str, Any]:
    command = [python, str(REFERENCE_BENCH), 'predict', '--work', str(work), '--images',
               str(images), '--out', str(out), '--mirroring' if mirrored else '--no-mirroring',
               '--threads', str(threads), '--repeat', str(repeat), '--save-probabilities',
               '--window-dtype', window]
    # The reference as measured in ../shared/guide: glibc's allocator thresholds raised.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='17179869184',
               MALLOC_TRIM_THRESHOLD_='17179869184', MALLOC_TOP_PAD_='1073741824')
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    if result.returncode != 0:
        sys.exit(f'nnunet-compare: reference predict failed:\n{result.stderr[-4000:]}')
    doc = json.loads(result.stdout)
    return {'seconds_per_case': doc['summary']['wall_s']['median'],
            'peak_rss_mb': doc['peak_rss_kib']['max'] / 1024, 'window_dtype': window,
            'model_dir': doc['model_dir'], 'input_shape': doc['runs'][0]['input_shape'],
            'preprocessed_shape': doc['runs'][0]['preprocessed_shape'],
            'tiles': doc['runs'][0]['windows']}


def labels_of(folder: Path, case: str) -> np.ndarray:
    import SimpleITK as sitk
    return sitk.GetArrayFromImage(sitk.ReadImage(str(folder / f'{case}.nii.gz')))


def compare(medseg_out: Path, reference_out: Path, case: str) -> Dict[str, Any]:
    ours = np.load(medseg_out / f'{case}.npy')
    theirs = np.load(reference_out / f'{case}.npz')['probabilities']
    if ours.shape != theirs.shape:
        sys.exit(f'nnunet-compare: probabilities of shape {ours.shape} against {theirs.shape}')
    difference = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
    agree = labels_of(medseg_out, case) == labels_of(reference_out, case)
    return {'max_abs_probability_difference': float(difference.max()),
            'mean_abs_probability_difference': float(difference.mean()),
            'label_agreement': float(agree.mean()), 'voxels': int(agree.size)}


def scenario(name: str, args: argparse.Namespace) -> Dict[str, Any]:
    shape, spacing, test_shape, test_spacing = SCENARIOS[name]
    s = Path(args.work).resolve() / name
    dataset, test, reference = s / 'dataset', s / 'test', s / 'reference'
    if not (reference / 'plan.json').is_file():
        log(f'{name}: dataset and the reference\'s plans')
        for folder, cases, tests, shp, spc, seed in ((dataset, 4, 0, shape, spacing, 1),
                                                     (test, 1, 1, test_shape, test_spacing, 2)):
            subprocess.run([args.medseg, '--quiet', 'synth', str(folder), '--cases', str(cases),
                            '--test-cases', str(tests), '--shape', *map(str, shp),
                            '--spacing', *map(str, spc), '--seed', str(seed)], check=True)
        subprocess.run([sys.executable, str(REFERENCE_BENCH), 'plan', str(dataset), '--work',
                        str(reference), '--json', str(reference / 'plan.json')], check=True,
                       stdout=subprocess.DEVNULL)
    images = test / 'imagesTs'
    case = sorted(p.name[:-len('_0000.nii.gz')] for p in images.glob('*_0000.nii.gz'))[0]
    out: Dict[str, Any] = {'training_shape': shape, 'training_spacing': spacing,
                           'test_shape': test_shape, 'test_spacing': test_spacing}
    for mirrored in (False, True):
        key = 'mirrored' if mirrored else 'unmirrored'
        runs: Dict[str, Any] = {}
        # Speed only (--exactness-runs unmirrored, for the large volume's mirrored runs): the
        # reference as it ships and medseg in both precisions; its labels against medseg's fp32.
        every_run = not mirrored or args.exactness_runs == 'all'
        # float16 first: the reference as it ships, the one whose speed is reported.
        for window in ('float16', 'float32') if every_run else ('float16',):
            log(f'{name}, {key}: reference, {window} window')
            runs[f'reference_{window}'] = reference_run(
                sys.executable, reference, images, s / f'reference_{window}_{key}', mirrored,
                window, args.threads, args.repeat)
        model = Path(runs['reference_float16']['model_dir'])
        for precision in ('fp32', 'auto'):
            log(f'{name}, {key}: medseg {precision}')
            runs[f'medseg_{precision}'] = medseg_run(args.medseg, model, images,
                                                     s / f'medseg_{precision}_{key}', mirrored,
                                                     precision, args.threads)
        if not every_run:
            runs['medseg_fp32_vs_reference_float16'] = compare(
                s / f'medseg_fp32_{key}', s / f'reference_float16_{key}', case)
            out[key] = runs
            continue
        # --accumulate float16: the shipped reference's float16 window, operation for operation.
        log(f'{name}, {key}: medseg fp32, float16 accumulation')
        runs['medseg_fp32_float16'] = medseg_run(args.medseg, model, images,
                                                 s / f'medseg_fp32_float16_{key}', mirrored,
                                                 'fp32', args.threads, 'float16')
        for window in ('float32', 'float16'):
            runs[f'medseg_fp32_vs_reference_{window}'] = compare(
                s / f'medseg_fp32_{key}', s / f'reference_{window}_{key}', case)
        runs['medseg_fp32_float16_vs_reference_float16'] = compare(
            s / f'medseg_fp32_float16_{key}', s / f'reference_float16_{key}', case)
        out[key] = runs
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--medseg', required=True, help='the medseg executable')
    parser.add_argument('--work', required=True, help='work folder (datasets, models, outputs)')
    parser.add_argument('--scenarios', default='hippocampus,large')
    parser.add_argument('--repeat', type=int, default=1, help='reference predictions per case')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--exactness-runs', choices=('all', 'unmirrored'), default='all',
                        help='unmirrored: mirrored runs are the reference as shipped and medseg '
                             'in both precisions only (the large volume in under an hour)')
    parser.add_argument('--out', help='JSON result (default WORK/nnunet-compare.json)')
    args = parser.parse_args()
    names = args.scenarios.split(',')
    for name in names:
        if name not in SCENARIOS:
            parser.error(f'unknown scenario {name!r} (one of {", ".join(SCENARIOS)})')
    results = {'benchmark': 'bench/nnunet_compare.py: medseg on a reference nnU-Net v2 results '
                            'folder against the reference, CPU',
               'machine': open('/proc/cpuinfo').read().split('model name')[1].split('\n')[0]
               .strip(': \t'), 'cores': os.cpu_count(), 'threads': args.threads,
               'scenarios': {name: scenario(name, args) for name in names}}
    out = Path(args.out or Path(args.work) / 'nnunet-compare.json')
    tmp = out.with_name(out.name + '.tmp')
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, out)
    for name, r in results['scenarios'].items():
        for key in ('unmirrored', 'mirrored'):
            runs = r[key]
            for tool in ('reference_float16', 'reference_float32', 'medseg_fp32', 'medseg_auto'):
                if tool not in runs:
                    continue
                t = runs[tool]
                print(f'{name:12s} {key:10s} {tool:18s} {t["seconds_per_case"] or 0:8.2f} s/case'
                      f'  peak {t["peak_rss_mb"]:7.0f} MB')
            for window in ('float32', 'float16'):
                if f'medseg_fp32_vs_reference_{window}' not in runs:
                    continue
                c = runs[f'medseg_fp32_vs_reference_{window}']
                print(f'{name:12s} {key:10s} medseg fp32 vs reference {window} window: max |dp| '
                      f'{c["max_abs_probability_difference"]:.2e}, labels agree on '
                      f'{100 * c["label_agreement"]:.4f}%')
            if 'medseg_fp32_float16_vs_reference_float16' not in runs:
                continue
            c = runs['medseg_fp32_float16_vs_reference_float16']
            print(f'{name:12s} {key:10s} medseg fp32 --accumulate float16 vs reference float16 '
                  f'window: max |dp| {c["max_abs_probability_difference"]:.2e}, labels agree on '
                  f'{100 * c["label_agreement"]:.4f}%')
    log(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
