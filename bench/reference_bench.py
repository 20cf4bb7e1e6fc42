#!/usr/bin/env python3
"""Benchmarks the reference nnU-Net v2 (the `nnunetv2` package) on the CPU, for side-by-side runs
with medseg on the same data, plan, threads and machine (issue #27, docs/benchmarking.md).

Install the reference once (a venv in .deps/, reusing the project's torch venv when present):

    scripts/install-reference.sh

then run this file with that venv's python:

    PY=.deps/nnunetv2-2.6.0/bin/python
    $PY bench/reference_bench.py plan DATASET_DIR --work WORK [--json plan.json]
    $PY bench/reference_bench.py predict --work WORK --images DATASET_DIR/imagesTs --out OUT \
        [--mirroring|--no-mirroring] [--threads 2] [--repeat 3] [--pipeline sequential|files] \
        [--save-probabilities] [--window-dtype float16|float32]
    $PY bench/reference_bench.py train-step --work WORK [--iterations 10] [--threads 2]

`plan` links DATASET_DIR (nnU-Net v2 layout: dataset.json, imagesTr/, labelsTr/) as
WORK/nnUNet_raw/Dataset901_<name>, runs the reference's fingerprint extraction, its default
ExperimentPlanner and its preprocessing of 3d_fullres (1 process). `predict` makes (once) a model
folder holding a freshly initialised network (seed 0) in the reference's checkpoint format and
predicts every image of --images with nnUNetPredictor. `train-step` times the reference trainer's
training iterations (nnUNetTrainer, 3d_fullres, fold 0) with augmentation in the main process.

Each subcommand prints one JSON object on stdout (--json PATH also writes it there, atomically);
everything the reference prints goes to stderr. Errors go to stderr with a non-zero exit status.
glibc's allocator settings change the reference's CPU speed several-fold: the MALLOC_* variables
in force are recorded in the JSON (see ../shared/guide/cpu-performance.md).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

DEFAULT_DATASET_ID = 901
PLANS_IDENTIFIER = 'nnUNetPlans'
CONFIGURATION = '3d_fullres'
TRAINER_NAME = 'nnUNetTrainer'
CHECKPOINT_NAME = 'checkpoint_final.pth'


class BenchError(Exception):
    """An error to report on stderr, with exit status 1."""


# ----------------------------------------------------------------------------- helpers

def redirect_stdout_to_stderr() -> TextIO:
    """Points file descriptor 1 at stderr (also for child processes and C code) and returns a
    stream on the original stdout, which then carries only the JSON result."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(saved, 'w')


def write_json_atomically(path: Path, obj: Dict[str, Any]) -> None:
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f, indent=2)
            f.write('\n')
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def stats(values: Sequence[float]) -> Dict[str, Any]:
    if not values:
        return {'n': 0}
    return {'n': len(values), 'median': statistics.median(values), 'min': min(values),
            'max': max(values)}


def peak_rss_kib() -> Dict[str, int]:
    """Peak resident set sizes so far (Linux: ru_maxrss in KiB). `children` is the largest of the
    waited-for child processes (the reference's multiprocessing pools)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {'self': own, 'children': children, 'max': max(own, children)}


def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def environment(threads: int) -> Dict[str, Any]:
    import importlib.metadata as metadata
    import torch
    allocator = {k: v for k, v in sorted(os.environ.items())
                 if k.startswith('MALLOC_') or k in ('GLIBC_TUNABLES', 'LD_PRELOAD')}
    nnunet_env = {k: v for k, v in sorted(os.environ.items())
                  if k.startswith('nnUNet_') and k not in ('nnUNet_raw', 'nnUNet_preprocessed',
                                                           'nnUNet_results')}
    versions = {}
    for package in ('nnunetv2', 'torch', 'numpy', 'SimpleITK', 'batchgenerators',
                    'batchgeneratorsv2', 'dynamic_network_architectures', 'acvl_utils'):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        'nnunetv2_version': versions['nnunetv2'],
        'torch_version': torch.__version__,
        'package_versions': versions,
        'python_version': platform.python_version(),
        'python': sys.executable,
        'device': 'cpu',
        'cpu_model': cpu_model(),
        'cpu_count': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'threads_asked': threads,
        'torch_mkldnn': bool(torch.backends.mkldnn.is_available()),
        'allocator_env': allocator,
        'allocator': 'tuned (MALLOC_* set)' if allocator else 'glibc defaults (as shipped)',
        'nnunet_env': nnunet_env,
        'hostname': platform.node(),
        'time_utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
    }


def set_paths(work: Path, threads: int, n_proc_da: int = 0) -> Dict[str, Path]:
    """nnU-Net reads its folders and settings from the environment when its modules are imported:
    call this before importing anything from nnunetv2. n_proc_da 0 (nnUNet_n_proc_DA): augmentation
    in the main process, as worker processes would compete with torch for the cores.
    nnUNet_def_n_proc (default 8 in the reference) caps torch's threads in the sliding window and
    sets them in the export's resampling: the thread count, unless set already."""
    paths = {name: work / name for name in ('nnUNet_raw', 'nnUNet_preprocessed', 'nnUNet_results')}
    for name, path in paths.items():
        path.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(path)
    os.environ['nnUNet_n_proc_DA'] = str(n_proc_da)
    os.environ.setdefault('nnUNet_def_n_proc', str(threads))
    return paths


def set_threads(threads: int) -> None:
    import torch
    if threads < 1:
        raise BenchError('--threads must be at least 1')
    torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_json(path: Path) -> Any:
    with open(path) as f:
        return json.load(f)


def dataset_folder_name(dataset_dir: Path, dataset_id: int) -> str:
    base = dataset_dir.name
    m = re.fullmatch(r'Dataset\d{3}_(.+)', base)
    name = m.group(1) if m else base
    name = re.sub(r'[^A-Za-z0-9_-]+', '_', name).strip('_') or 'Data'
    return f'Dataset{dataset_id:03d}_{name}'


def find_dataset(paths: Dict[str, Path], dataset_id: int) -> str:
    """The Dataset<id>_* name that `plan` set up in --work."""
    found = sorted(p.name for p in paths['nnUNet_preprocessed'].glob(f'Dataset{dataset_id:03d}_*'))
    if not found:
        raise BenchError(f"no Dataset{dataset_id:03d}_* in {paths['nnUNet_preprocessed']}: "
                         'run the `plan` subcommand with this --work first')
    if len(found) > 1:
        raise BenchError(f"several datasets with id {dataset_id} in {paths['nnUNet_preprocessed']}: "
                         f'{found}; use a fresh --work per dataset')
    plans_file = paths['nnUNet_preprocessed'] / found[0] / f'{PLANS_IDENTIFIER}.json'
    if not plans_file.is_file():
        raise BenchError(f'{plans_file} is missing: run the `plan` subcommand first')
    return found[0]


def plan_summary(plans: Dict[str, Any]) -> Dict[str, Any]:
    if CONFIGURATION not in plans['configurations']:
        raise BenchError(f'the reference planned no {CONFIGURATION} configuration')
    c = plans['configurations'][CONFIGURATION]
    arch = c['architecture']
    kw = arch['arch_kwargs']
    return {
        'patch_size': c['patch_size'],
        'batch_size': c['batch_size'],
        'spacing': c['spacing'],
        'median_image_size_in_voxels': c.get('median_image_size_in_voxels'),
        'normalization_schemes': c.get('normalization_schemes'),
        'use_mask_for_norm': c.get('use_mask_for_norm'),
        'network_class_name': arch['network_class_name'],
        'n_stages': kw['n_stages'],
        'features_per_stage': kw['features_per_stage'],
        'kernel_sizes': kw['kernel_sizes'],
        'strides': kw['strides'],
        'n_conv_per_stage': kw.get('n_conv_per_stage'),
        'n_conv_per_stage_decoder': kw.get('n_conv_per_stage_decoder'),
    }


def list_cases(folder: Path, file_ending: str) -> List[Tuple[str, List[str]]]:
    """Cases of an nnU-Net images folder: CASE_XXXX<file_ending>, one file per channel."""
    pattern = re.compile(r'(.+)_(\d{4})' + re.escape(file_ending))
    cases: Dict[str, List[str]] = {}
    for p in sorted(folder.iterdir()):
        m = pattern.fullmatch(p.name)
        if m:
            cases.setdefault(m.group(1), []).append(str(p))
    return sorted(cases.items())


# ----------------------------------------------------------------------------- plan

def cmd_plan(args: argparse.Namespace) -> Dict[str, Any]:
    dataset_dir = Path(args.dataset_dir).resolve()
    if not (dataset_dir / 'dataset.json').is_file() or not (dataset_dir / 'imagesTr').is_dir():
        raise BenchError(f'{dataset_dir} is not a dataset in nnU-Net v2 layout '
                         '(dataset.json and imagesTr/ expected)')
    work = Path(args.work).resolve()
    # The planner sets torch's threads to nnUNet_n_proc_DA while it sizes the network, and fails
    # on 0: give it the thread count (planning runs no augmentation).
    paths = set_paths(work, args.threads, n_proc_da=args.threads)
    name = dataset_folder_name(dataset_dir, args.dataset_id)
    for root in paths.values():
        for other in root.glob(f'Dataset{args.dataset_id:03d}_*'):
            if other.name != name:
                raise BenchError(f'{other} belongs to another dataset: use a fresh --work per dataset')
    link = paths['nnUNet_raw'] / name
    if link.is_symlink():
        if link.resolve() != dataset_dir:
            link.unlink()
    elif link.exists():
        raise BenchError(f'{link} exists and is not a symbolic link: not touching it')
    if not link.is_symlink():
        link.symlink_to(dataset_dir, target_is_directory=True)

    set_threads(args.threads)
    from nnunetv2.experiment_planning.plan_and_preprocess_api import (extract_fingerprints,
                                                                       plan_experiments, preprocess)
    env = environment(args.threads)
    t0 = time.perf_counter()
    extract_fingerprints([args.dataset_id], num_processes=1, check_dataset_integrity=False,
                         clean=True, verbose=False)
    t1 = time.perf_counter()
    plans_identifier = plan_experiments([args.dataset_id])
    t2 = time.perf_counter()
    preprocess([args.dataset_id], plans_identifier, configurations=(CONFIGURATION,),
               num_processes=(1,), verbose=False)
    t3 = time.perf_counter()

    pre = paths['nnUNet_preprocessed'] / name
    plans = load_json(pre / f'{plans_identifier}.json')
    n_cases = len(list((pre / plans['configurations'][CONFIGURATION]['data_identifier'])
                       .glob('*.pkl')))
    return {
        'command': 'plan',
        'tool': 'nnunetv2',
        'dataset_dir': str(dataset_dir),
        'dataset_name': name,
        'work': str(work),
        'planner': 'ExperimentPlanner (nnUNetv2_plan_and_preprocess default)',
        'plans_identifier': plans_identifier,
        'plans_file': str(pre / f'{plans_identifier}.json'),
        'configurations_planned': sorted(plans['configurations'].keys()),
        'transpose_forward': plans.get('transpose_forward'),
        'gpu_memory_target_gb': plans.get('gpu_memory_target_gb'),
        '3d_fullres': plan_summary(plans),
        'cases_preprocessed': n_cases,
        'num_processes': 1,
        'seconds': {'fingerprint': t1 - t0, 'plan': t2 - t1, 'preprocess_3d_fullres': t3 - t2,
                    'total': t3 - t0},
        'peak_rss_kib': peak_rss_kib(),
        'env': env,
    }


# ----------------------------------------------------------------------------- model folder

def ensure_model(paths: Dict[str, Path], name: str) -> Tuple[Path, bool]:
    """The reference model folder for the planned dataset, with a freshly initialised network
    (seed 0) saved by the reference trainer's own save_checkpoint. Made again when the plans
    changed since (a new `plan` run)."""
    import torch
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    pre = paths['nnUNet_preprocessed'] / name
    plans = load_json(pre / f'{PLANS_IDENTIFIER}.json')
    dataset_json = load_json(pre / 'dataset.json')
    model_dir = (paths['nnUNet_results'] / name /
                 f'{TRAINER_NAME}__{PLANS_IDENTIFIER}__{CONFIGURATION}')
    checkpoint = model_dir / 'fold_0' / CHECKPOINT_NAME
    if (checkpoint.is_file() and (model_dir / 'plans.json').is_file()
            and (model_dir / 'dataset.json').is_file()
            and load_json(model_dir / 'plans.json') == plans
            and load_json(model_dir / 'dataset.json') == dataset_json):
        return model_dir, False

    seed_everything(0)
    trainer = nnUNetTrainer(plans, CONFIGURATION, 0, dataset_json, device=torch.device('cpu'))
    trainer.initialize()
    # Sets inference_allowed_mirroring_axes, which the checkpoint carries (as after training).
    trainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size()
    model_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomically(model_dir / 'plans.json', plans)
    write_json_atomically(model_dir / 'dataset.json', dataset_json)
    tmp = checkpoint.with_name(CHECKPOINT_NAME + '.tmp')
    trainer.save_checkpoint(str(tmp))
    os.replace(tmp, checkpoint)
    return model_dir, True


# ----------------------------------------------------------------------------- predict

class Float32SlidingWindow:
    """During the block, the reference's sliding window computes in float32: its two float16
    tensors of a CPU prediction, the Gaussian importance map (compute_gaussian's default dtype)
    and the sums of weighted logits and weights (torch.zeros(..., dtype=torch.half) in
    predict_from_raw_data.py), are made float32. Nothing else changes. medseg computes in float32;
    the difference this makes is in docs/user-guide.md ("Predicting with a model trained by
    nnU-Net v2"). Also used by scripts/make-nnunet-fixture.py."""

    def __enter__(self):
        import functools
        import torch
        import nnunetv2.inference.predict_from_raw_data as predict_module
        self.module = predict_module
        self.zeros = torch.zeros
        self.gaussian = predict_module.compute_gaussian

        def zeros(*args, **kwargs):
            if kwargs.get('dtype') is torch.half:
                kwargs['dtype'] = torch.float32
            return self.zeros(*args, **kwargs)

        @functools.lru_cache(maxsize=2)
        def gaussian(tile_size, sigma_scale=1. / 8, value_scaling_factor=1, dtype=torch.float16,
                     device=torch.device('cuda', 0)):
            return self.gaussian.__wrapped__(tile_size, sigma_scale, value_scaling_factor,
                                             torch.float32, device)
        torch.zeros = zeros
        predict_module.compute_gaussian = gaussian
        return self

    def __exit__(self, *exc):
        import torch
        torch.zeros = self.zeros
        self.module.compute_gaussian = self.gaussian


def sliding_window_count(shape: Sequence[int], patch_size: Sequence[int], step: float) -> int:
    from nnunetv2.inference.sliding_window_prediction import compute_steps_for_sliding_window
    padded = [max(s, p) for s, p in zip(shape, patch_size)]
    steps = compute_steps_for_sliding_window(tuple(padded), tuple(patch_size), step)
    n = 1
    for s in steps:
        n *= len(s)
    return n


def cmd_predict(args: argparse.Namespace) -> Dict[str, Any]:
    work = Path(args.work).resolve()
    images = Path(args.images).resolve()
    out = Path(args.out).resolve()
    if not images.is_dir():
        raise BenchError(f'--images {images} is not a folder')
    if args.repeat < 1:
        raise BenchError('--repeat must be at least 1')
    paths = set_paths(work, args.threads)
    set_threads(args.threads)
    import torch
    from nnunetv2.inference.export_prediction import export_prediction_from_logits
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    name = find_dataset(paths, args.dataset_id)
    env = environment(args.threads)
    model_dir, created = ensure_model(paths, name)
    dataset_json = load_json(model_dir / 'dataset.json')
    cases = list_cases(images, dataset_json['file_ending'])
    if not cases:
        raise BenchError(f"no images CASE_XXXX{dataset_json['file_ending']} in {images}")
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=args.mirroring,
                                perform_everything_on_device=False, device=torch.device('cpu'),
                                verbose=False, verbose_preprocessing=False, allow_tqdm=False)
    predictor.initialize_from_trained_model_folder(str(model_dir), use_folds=(0,),
                                                   checkpoint_name=CHECKPOINT_NAME)
    load_s = time.perf_counter() - t0
    patch_size = list(predictor.configuration_manager.patch_size)
    mirror_axes = predictor.allowed_mirroring_axes if args.mirroring else None
    passes_per_window = 2 ** len(mirror_axes) if mirror_axes else 1

    runs: List[Dict[str, Any]] = []
    if args.pipeline == 'sequential':
        preprocessor = predictor.configuration_manager.preprocessor_class(verbose=False)
        for r in range(args.repeat):
            for case_id, files in cases:
                t_start = time.perf_counter()
                data, _, properties = preprocessor.run_case(
                    files, None, predictor.plans_manager, predictor.configuration_manager,
                    predictor.dataset_json)
                t_pre = time.perf_counter()
                with (Float32SlidingWindow() if args.window_dtype == 'float32'
                      else contextlib.nullcontext()):
                    logits = predictor.predict_logits_from_preprocessed_data(
                        torch.from_numpy(data)).cpu()
                t_sw = time.perf_counter()
                export_prediction_from_logits(logits, properties, predictor.configuration_manager,
                                              predictor.plans_manager, predictor.dataset_json,
                                              str(out / case_id), args.save_probabilities)
                t_end = time.perf_counter()
                windows = sliding_window_count(data.shape[1:], patch_size, 0.5)
                runs.append({
                    'case': case_id, 'repeat': r,
                    'wall_s': t_end - t_start,
                    'read_preprocess_s': t_pre - t_start,
                    'sliding_window_s': t_sw - t_pre,
                    'export_s': t_end - t_sw,
                    'input_shape': [int(s) for s in properties['shape_before_cropping']],
                    'preprocessed_shape': [int(s) for s in data.shape[1:]],
                    'windows': windows,
                    'network_passes': windows * passes_per_window,
                })
                del data, logits
        pipeline_note = ('the steps of nnUNetPredictor.predict_from_files_sequential, one case at '
                         'a time in this process, timed apart: preprocessor.run_case (read + crop + '
                         'normalise + resample), predict_logits_from_preprocessed_data (sliding '
                         'window), export_prediction_from_logits (resample back, argmax, write). '
                         'nnUNetv2_predict -device cpu runs the same functions, but preprocesses and '
                         'exports in background processes (-npp 3 -nps 3) overlapping the sliding '
                         'window: use --pipeline files for that path')
    else:
        for r in range(args.repeat):
            t_start = time.perf_counter()
            with (Float32SlidingWindow() if args.window_dtype == 'float32'
                  else contextlib.nullcontext()):
                predictor.predict_from_files(str(images), str(out),
                                             save_probabilities=args.save_probabilities,
                                             overwrite=True, num_processes_preprocessing=1,
                                             num_processes_segmentation_export=1)
            total = time.perf_counter() - t_start
            runs.append({'repeat': r, 'cases': len(cases), 'total_s': total,
                         'wall_s': total / len(cases)})
        pipeline_note = ('nnUNetPredictor.predict_from_files, the path of nnUNetv2_predict -device '
                         'cpu, with 1 preprocessing and 1 export background process (spawned), '
                         'overlapping the sliding window: only whole-run times; wall_s is total_s '
                         'divided by the number of cases')

    summary: Dict[str, Any] = {'wall_s': stats([x['wall_s'] for x in runs])}
    if args.pipeline == 'sequential':
        for key in ('read_preprocess_s', 'sliding_window_s', 'export_s'):
            summary[key] = stats([x[key] for x in runs])
        summary['sliding_window_s_per_pass'] = stats(
            [x['sliding_window_s'] / x['network_passes'] for x in runs])
    return {
        'command': 'predict',
        'tool': 'nnunetv2',
        'dataset_name': name,
        'work': str(work),
        'images': str(images),
        'out': str(out),
        'cases': len(cases),
        'pipeline': args.pipeline,
        'pipeline_note': pipeline_note,
        'configuration': CONFIGURATION,
        'model_dir': str(model_dir),
        'model_created': created,
        'model_weights': 'freshly initialised (seed 0), saved by nnUNetTrainer.save_checkpoint',
        'model_load_s': load_s,
        'patch_size': patch_size,
        'tile_step_size': 0.5,
        'use_gaussian': True,
        'mirroring': bool(args.mirroring),
        'mirror_axes': list(mirror_axes) if mirror_axes else None,
        'perform_everything_on_device': bool(predictor.perform_everything_on_device),
        'precision': 'float32 network (the reference autocasts only on CUDA); '
                     + ('Gaussian map and logit sums in float16 as the reference does'
                        if args.window_dtype == 'float16' else
                        'Gaussian map and logit sums made float32 (Float32SlidingWindow)'),
        'window_dtype': args.window_dtype,
        'save_probabilities': bool(args.save_probabilities),
        'threads': args.threads,
        'repeat': args.repeat,
        'runs': runs,
        'summary': summary,
        'peak_rss_kib': peak_rss_kib(),
        'env': env,
    }


# ----------------------------------------------------------------------------- train-step

def ensure_split(preprocessed: Path, data_folder: Path) -> str:
    """The reference's 5-fold split needs 5 cases; with fewer, write the split it would make with
    as many folds as there are cases (its own generate_crossval_split, same seed)."""
    from nnunetv2.training.dataloading.nnunet_dataset import infer_dataset_class
    from nnunetv2.utilities.crossval_split import generate_crossval_split
    splits_file = preprocessed / 'splits_final.json'
    if splits_file.is_file():
        return 'existing splits_final.json'
    keys = sorted(infer_dataset_class(str(data_folder)).get_identifiers(str(data_folder)))
    if len(keys) >= 5:
        return 'the reference 5-fold split (made by the trainer)'
    if len(keys) < 2:
        raise BenchError(f'{data_folder} holds {len(keys)} preprocessed case(s): need 2 or more')
    splits = generate_crossval_split(keys, seed=12345, n_splits=len(keys))
    write_json_atomically(splits_file, [{'train': [str(k) for k in s['train']],
                                         'val': [str(k) for k in s['val']]} for s in splits])
    return f'{len(keys)}-fold split (fewer than 5 cases), written to splits_final.json'


def cmd_train_step(args: argparse.Namespace) -> Dict[str, Any]:
    work = Path(args.work).resolve()
    if args.iterations < 1:
        raise BenchError('--iterations must be at least 1')
    paths = set_paths(work, args.threads)
    set_threads(args.threads)
    import numpy as np
    import torch
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    name = find_dataset(paths, args.dataset_id)
    env = environment(args.threads)
    pre = paths['nnUNet_preprocessed'] / name
    plans = load_json(pre / f'{PLANS_IDENTIFIER}.json')
    dataset_json = load_json(pre / 'dataset.json')
    data_folder = pre / plans['configurations'][CONFIGURATION]['data_identifier']
    split = ensure_split(pre, data_folder)

    seed_everything(0)
    trainer = nnUNetTrainer(plans, CONFIGURATION, 0, dataset_json, device=torch.device('cpu'))
    t0 = time.perf_counter()
    # As nnUNetv2_train: dataloaders (fetches one batch of each), network, optimiser, loss, unpacking
    # of the preprocessed cases. No checkpoint is written (on_train_end is not called).
    trainer.on_train_start()
    trainer.on_train_epoch_start()
    setup_s = time.perf_counter() - t0
    loader = type(trainer.dataloader_train).__name__

    iterations: List[Dict[str, Any]] = []
    batch_shape: Optional[List[int]] = None
    for i in range(args.iterations + 1):
        t_a = time.perf_counter()
        batch = next(trainer.dataloader_train)
        t_b = time.perf_counter()
        result = trainer.train_step(batch)
        t_c = time.perf_counter()
        if batch_shape is None:
            batch_shape = [int(s) for s in batch['data'].shape]
        iterations.append({'iteration': i, 'warm_up': i == 0, 'fetch_s': t_b - t_a,
                           'train_step_s': t_c - t_b, 'iteration_s': t_c - t_a,
                           'loss': float(np.mean(result['loss']))})
        del batch
    timed = [x for x in iterations if not x['warm_up']]
    return {
        'command': 'train-step',
        'tool': 'nnunetv2',
        'dataset_name': name,
        'work': str(work),
        'configuration': CONFIGURATION,
        'fold': 0,
        'split': split,
        'trainer': TRAINER_NAME,
        'plan': plan_summary(plans),
        'batch_shape': batch_shape,
        'deep_supervision': bool(trainer.enable_deep_supervision),
        'dataloader': f'{loader} (nnUNet_n_proc_DA=0: loading and augmentation in this process)',
        'precision': 'float32 (nnUNetTrainer.train_step autocasts only on CUDA; no grad scaler)',
        'compiled': False,
        'threads': args.threads,
        'setup_s': setup_s,
        'iterations_timed': args.iterations,
        'iterations_note': 'one warm-up iteration first, excluded from the statistics',
        'iterations': iterations,
        'summary': {
            'iteration_s': stats([x['iteration_s'] for x in timed]),
            'fetch_s': stats([x['fetch_s'] for x in timed]),
            'train_step_s': stats([x['train_step_s'] for x in timed]),
            'warm_up_iteration_s': iterations[0]['iteration_s'],
        },
        'peak_rss_kib': peak_rss_kib(),
        'env': env,
    }


# ----------------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Benchmarks the reference nnU-Net v2 on the CPU (one JSON object on stdout).')
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument('--work', required=True,
                       help='folder for nnUNet_raw, nnUNet_preprocessed and nnUNet_results')
        p.add_argument('--threads', type=int, default=2, help='torch threads (default 2)')
        p.add_argument('--dataset-id', type=int, default=DEFAULT_DATASET_ID,
                       help=f'nnU-Net dataset id to use (default {DEFAULT_DATASET_ID})')
        p.add_argument('--json', metavar='PATH', help='also write the JSON result to PATH')

    p = sub.add_parser('plan', help='fingerprint + plan + preprocess 3d_fullres (1 process)')
    p.add_argument('dataset_dir', help='dataset folder in nnU-Net v2 layout')
    common(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser('predict', help='predict a folder of images with a fresh network')
    common(p)
    p.add_argument('--images', required=True, help='folder of CASE_XXXX images')
    p.add_argument('--out', required=True, help='folder for the predicted segmentations')
    p.add_argument('--mirroring', action=argparse.BooleanOptionalAction, default=True,
                   help='test-time mirroring (default on, as in nnUNetv2_predict)')
    p.add_argument('--repeat', type=int, default=1, help='predict every case N times')
    p.add_argument('--save-probabilities', action='store_true',
                   help='also write <case>.npz (probabilities) and <case>.pkl, as '
                        'nnUNetv2_predict --save_probabilities')
    p.add_argument('--window-dtype', choices=('float16', 'float32'), default='float16',
                   help='the sliding window\'s Gaussian map and sums: float16 as the reference '
                        'ships (default), or float32 (Float32SlidingWindow), what medseg computes')
    p.add_argument('--pipeline', choices=('sequential', 'files'), default='sequential',
                   help='sequential: per-case and per-stage times (default); files: '
                        'predict_from_files with background processes, as nnUNetv2_predict')
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser('train-step', help='time training iterations of nnUNetTrainer')
    common(p)
    p.add_argument('--iterations', type=int, default=10,
                   help='timed iterations, after one warm-up iteration (default 10)')
    p.set_defaults(func=cmd_train_step)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    result_stream = redirect_stdout_to_stderr()
    func: Callable[[argparse.Namespace], Dict[str, Any]] = args.func
    try:
        result = func(args)
    except BenchError as e:
        print(f'reference_bench: {e}', file=sys.stderr)
        return 1
    except ImportError as e:
        print(f'reference_bench: {e} (run this with the venv of scripts/install-reference.sh)',
              file=sys.stderr)
        return 1
    result['argv'] = sys.argv[1:] if argv is None else list(argv)
    if args.json:
        write_json_atomically(Path(args.json), result)
    result_stream.write(json.dumps(result, indent=2) + '\n')
    result_stream.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
