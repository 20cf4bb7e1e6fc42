#!/usr/bin/env python3
"""Makes tests/data/nnunet_results/: tiny nnU-Net v2 results folders built by the reference's own
code, with the reference's predictions of one case, for medseg's CI test of issue #21
(tests/unit/infer/nnunet_model_test.cpp). The CI machine has no reference venv: it reads only what
this script wrote. Regenerate (after scripts/install-reference.sh) with

    .deps/nnunetv2-2.6.0/bin/python scripts/make-nnunet-fixture.py [--out tests/data/nnunet_results]

What it does, all with nnunetv2 2.6.0's code:
  1. a synthetic dataset (seeded): 4 training cases of 1 channel, labels 0..2, spacing (2, 1, 1);
  2. the reference's fingerprint and planners: ExperimentPlanner (nnUNetPlans: 2d, 3d_fullres) and
     nnUNetPlannerResEncM (nnUNetResEncUNetMPlans: 3d_fullres, ResidualEncoderUNet); then each
     configuration's features_per_stage is divided by 8 (4, 8, 16, ...) so that a checkpoint is a
     few tens of KB (the plans stay the reference's schema; only widths change);
  3. per model folder <Trainer>__<Plans>__<configuration>: nnUNetTrainer(...).initialize() with a
     fixed seed, a training log entry holding numpy scalars (as training writes), and
     save_checkpoint -> fold_k/checkpoint_final.pth (3d_fullres: folds 0 and 1; 2d: also
     fold_0/checkpoint_best.pth from another seed);
  4. nnUNetPredictor on the test case (spacing and shape unlike the training cases, wider than
     the patch, so that it is resampled and tiled), CPU, with and without mirroring,
     save_probabilities, twice:
       expected/<model>_<mirror>/<case>.nii.gz: the labels nnUNetv2_predict writes. Its sliding
         window keeps the Gaussian importance map (compute_gaussian's default dtype) and the sums
         of weighted logits and weights (predict_from_raw_data.py) in float16: weights at a
         tile's edge (down to 4e-10 of the centre) underflow to float16's subnormals or to 0,
         so near the volume's border its probabilities move by up to 0.1 and an argmax may flip;
       expected_fp32/<model>_<mirror>/<case>.nii.gz and .npz: the same predictor with the map
         and the sums in float32 (bench/reference_bench.py's Float32SlidingWindow), what medseg
         computes: its probabilities are compared at float32 tolerance. (The float16 map alone
         moves probabilities by up to 5e-4 on this case, the sums by up to 0.1.)
  5. per checkpoint, the network's own forward pass on a fixed input: <fold>/network_check_<name>.npz
     (input, logits), which pins the weight mapping in float32 independent of the pipeline;
  6. the reference's find_best_configuration (folds 0 and 1, no ensembles) on made-up
     cross-validation predictions of the training cases (3d_fullres: the labels plus a stray
     cube of label 1 and a stray voxel of label 2, so that keeping the largest component of
     each helps; 2d: label 2 missed in two cases, so 3d_fullres wins):
       inference_information.json (beside the model folders, as in nnUNet_results/<Dataset>/;
         its postprocessing_file is a path of the generating machine) and
       <3d_fullres model>/crossval_results_folds_0_1/postprocessing.{pkl,json};
     expected_fp32/<3d_fullres>_plain_postprocessed/<case>.nii.gz: the reference's
     apply_postprocessing with that pkl on expected_fp32/<3d_fullres>_plain/<case>.nii.gz; and
     postprocessing_forms.pkl: the reference's save_pickle of its postprocessing function with
     each form its labels_or_regions takes (a list of labels, a region tuple, a label);
  7. regions: the same images as Dataset988_TinyRegions, whose dataset.json has the regions
     whole = [1, 2] and core = 2 (regions_class_order [1, 2]): its fingerprint, plans and a
     3d_fullres model (sigmoid outputs) in Dataset988_TinyRegions/<model>/, predicted as in 4
     (network checks are not repeated for steps 7 and 8);
  8. the cascade: plans nnUNetCascadePlans, the default planner's with a 3d_lowres at twice the
     3d_fullres spacing (get_plans_for_configuration) linked to 3d_cascade_fullres
     (inherits_from 3d_fullres, previous_stage 3d_lowres) as its plan_experiment links them
     (this dataset is too small for it to plan a 3d_lowres itself); the previous stage's
     segmentation is resampled onto the cascade stage's grid (batchgenerators 0.25.5: argmax of
     the interpolated masks, ties to the nearest label, as medseg). 3d_lowres is predicted as in 4
     (unmirrored only); 3d_cascade_fullres by predict_from_files (what nnUNetv2_predict runs)
     with prev_stage_predictions = nnUNetv2_predict's 3d_lowres labels (expected/), mirrored
     and not. manifest.json: 'regions' and 'cascade' ('lowres', 'fullres' with its
     'previous_stage' file).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

# The reference's sliding window in float32, shared with the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'bench'))
from reference_bench import Float32SlidingWindow  # noqa: E402

DATASET_ID = 987
DATASET_NAME = f'Dataset{DATASET_ID:03d}_Tiny'
CASE = 'tiny_000'
# Step 7: the same images as a region-based dataset.
REGIONS_DATASET_ID = 988
REGIONS_DATASET_NAME = f'Dataset{REGIONS_DATASET_ID:03d}_TinyRegions'
# (trainer, plans identifier, planner class, configuration, folds, extra checkpoints, shrink)
MODELS = [
    ('nnUNetTrainer', 'nnUNetPlans', 'ExperimentPlanner', '3d_fullres', (0, 1), (), 16),
    ('nnUNetTrainer', 'nnUNetPlans', 'ExperimentPlanner', '2d', (0,), ('best',), 8),
    ('nnUNetTrainer', 'nnUNetResEncUNetMPlans', 'nnUNetPlannerResEncM', '3d_fullres', (0,), (), 16),
]


def write_image(path: Path, array: np.ndarray, spacing_zyx) -> None:
    import SimpleITK as sitk
    image = sitk.GetImageFromArray(array)
    image.SetSpacing([float(s) for s in reversed(spacing_zyx)])
    image.SetOrigin((1.5, -2.0, 3.25))
    sitk.WriteImage(image, str(path))


def synthetic_case(rng: np.random.Generator, shape):
    """An image with two blobs of different brightness on a noisy background, and their labels."""
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing='ij')
    c1 = rng.uniform(-0.3, 0.3, 3)
    c2 = rng.uniform(-0.3, 0.3, 3)
    blob1 = (z - c1[0]) ** 2 + (y - c1[1] - 0.3) ** 2 + (x - c1[2]) ** 2 < 0.25
    blob2 = (z - c2[0]) ** 2 + (y - c2[1] + 0.35) ** 2 + (x - c2[2]) ** 2 < 0.12
    label = np.zeros(shape, np.uint8)
    label[blob1] = 1
    label[blob2] = 2
    image = rng.normal(100, 10, shape) + 50 * blob1 + 120 * blob2
    return image.astype(np.float32), label


def make_dataset(raw: Path) -> Path:
    folder = raw / DATASET_NAME
    (folder / 'imagesTr').mkdir(parents=True)
    (folder / 'labelsTr').mkdir()
    (folder / 'imagesTs').mkdir()
    rng = np.random.default_rng(21)
    for i, shape in enumerate([(8, 20, 22), (9, 22, 20), (8, 21, 21), (10, 20, 23)]):
        image, label = synthetic_case(rng, shape)
        write_image(folder / 'imagesTr' / f'tiny_{i + 1:03d}_0000.nii.gz', image, (2.0, 1.0, 1.0))
        write_image(folder / 'labelsTr' / f'tiny_{i + 1:03d}.nii.gz', label, (2.0, 1.0, 1.0))
    image, _ = synthetic_case(rng, (8, 18, 26))
    write_image(folder / 'imagesTs' / f'{CASE}_0000.nii.gz', image, (2.3, 0.9, 1.1))
    with open(folder / 'dataset.json', 'w') as f:
        json.dump({'channel_names': {'0': 'MRI'}, 'labels': {'background': 0, 'a': 1, 'b': 2},
                   'numTraining': 4, 'file_ending': '.nii.gz', 'name': 'Tiny'}, f, indent=2)
    return folder


def shrink(plans: dict, factor: int) -> dict:
    for config in plans['configurations'].values():
        arch = config.get('architecture')
        if arch:
            kwargs = arch['arch_kwargs']
            kwargs['features_per_stage'] = [max(2, f // factor) for f in kwargs['features_per_stage']]
    return plans


def save_checkpoint(trainer, path: Path, seed: int) -> None:
    import torch
    torch.manual_seed(seed)
    for m in trainer.network.modules():  # the reference's own initialisation, another seed
        if hasattr(m, 'reset_parameters'):
            m.reset_parameters()
    trainer.network.apply(trainer.network.initialize)
    # Norm scales and shifts away from 1 and 0, so a mapping that swaps them would show.
    with torch.no_grad():
        for name, p in trainer.network.named_parameters():
            if '.norm.' in name or 'all_modules.1' in name:
                p.add_(0.1 * torch.randn_like(p))
    # What training leaves in the log: numpy scalars (numpy globals in the pickle).
    trainer.logger.log('mean_fg_dice', np.float64(0.25), 0)
    trainer.logger.log('dice_per_class_or_region', [np.float64(0.2), np.float64(0.3)], 0)
    trainer.logger.log('train_losses', np.float32(0.75), 0)
    trainer._best_ema = np.float64(0.25)
    trainer.save_checkpoint(str(path))


def network_check(trainer, path: Path, config: dict) -> None:
    """The network's forward pass (no deep supervision) on a fixed input, float32."""
    import torch
    net = trainer.network
    net.eval()
    net.decoder.deep_supervision = False
    # Twice the total stride per axis: the bottleneck keeps 2 voxels per axis.
    strides = np.array(config['architecture']['arch_kwargs']['strides'])
    patch = [int(2 * np.prod(strides[:, axis])) for axis in range(strides.shape[1])]
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (1, trainer.num_input_channels, *patch)).astype(np.float32)
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()
    net.decoder.deep_supervision = True
    np.savez_compressed(path, input=x, logits=y.astype(np.float32))


def stray_cube(label: np.ndarray, value: int, corner, size: int) -> np.ndarray:
    """label with a size^3 cube of `value` at a corner of the volume, apart from any foreground."""
    out = label.copy()
    box = tuple(slice(0, size) if c == 0 else slice(-size, None) for c in corner)
    margin = tuple(slice(0, size + 1) if c == 0 else slice(-size - 1, None) for c in corner)
    assert not out[margin].any(), 'the stray cube would touch the foreground'
    out[box] = value
    return out


def make_postprocessing(work: Path, staging: Path, raw: Path) -> dict:
    """Step 6 of the docstring: the reference's own postprocessing and inference_information.json."""
    import SimpleITK as sitk
    from batchgenerators.utilities.file_and_folder_operations import load_pickle, save_pickle
    from nnunetv2.evaluation.find_best_configuration import find_best_configuration
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO
    from nnunetv2.postprocessing.remove_connected_components import (
        load_postprocess_save, remove_all_but_largest_component_from_segmentation)

    results = work / 'nnUNet_results' / DATASET_NAME
    cases = sorted(p.name for p in (raw / 'labelsTr').iterdir())
    folds = {0: cases[:2], 1: cases[2:]}
    models = {'3d_fullres': 'nnUNetTrainer__nnUNetPlans__3d_fullres',
              '2d': 'nnUNetTrainer__nnUNetPlans__2d'}
    for configuration, model in models.items():
        for name in ('plans.json', 'dataset.json'):
            (results / model).mkdir(parents=True, exist_ok=True)
            shutil.copy(staging / model / name, results / model / name)
        for fold, fold_cases in folds.items():
            validation = results / model / f'fold_{fold}' / 'validation'
            validation.mkdir(parents=True)
            for i, case in enumerate(fold_cases):
                reference = sitk.ReadImage(str(raw / 'labelsTr' / case))
                label = sitk.GetArrayFromImage(reference)
                if configuration == '3d_fullres':
                    label = stray_cube(label, 1, (0, 0, 0), 2)
                    label = stray_cube(label, 2, (1, 1, 1), 1)
                elif i == 0:
                    label[label == 2] = 0
                predicted = sitk.GetImageFromArray(label)
                predicted.CopyInformation(reference)
                sitk.WriteImage(predicted, str(validation / case))
    trained = [{'plans': 'nnUNetPlans', 'configuration': c, 'trainer': 'nnUNetTrainer'}
               for c in models]
    info = find_best_configuration(DATASET_ID, trained, allow_ensembling=False, num_processes=1,
                                   overwrite=True, folds=(0, 1), strict=True)
    best = info['best_model_or_ensemble']['selected_model_or_models']
    assert best == [{'configuration': '3d_fullres', 'trainer': 'nnUNetTrainer',
                     'plans_identifier': 'nnUNetPlans'}], best
    shutil.copy(results / 'inference_information.json', staging / 'inference_information.json')
    crossval = 'crossval_results_folds_0_1'
    (staging / models['3d_fullres'] / crossval).mkdir()
    for name in ('postprocessing.pkl', 'postprocessing.json'):
        shutil.copy(results / models['3d_fullres'] / crossval / name,
                    staging / models['3d_fullres'] / crossval / name)
    pp_fns, pp_kwargs = load_pickle(str(results / models['3d_fullres'] / crossval /
                                        'postprocessing.pkl'))
    labels = f'expected_fp32/{models["3d_fullres"]}_plain'
    (staging / f'{labels}_postprocessed').mkdir()
    load_postprocess_save(str(staging / labels / f'{CASE}.nii.gz'),
                          str(staging / f'{labels}_postprocessed' / f'{CASE}.nii.gz'),
                          SimpleITKIO(), pp_fns, pp_kwargs)
    forms = [{'labels_or_regions': [1, 2]}, {'labels_or_regions': (1, 2)},
             {'labels_or_regions': 2}]
    save_pickle(([remove_all_but_largest_component_from_segmentation] * len(forms), forms),
                str(staging / 'postprocessing_forms.pkl'))
    return {'inference_information': 'inference_information.json',
            'model': models['3d_fullres'],
            'postprocessing': f'{models["3d_fullres"]}/{crossval}/postprocessing.pkl',
            'steps': [np.atleast_1d(kwargs['labels_or_regions']).astype(int).tolist()
                      for kwargs in pp_kwargs],
            'labels': labels, 'postprocessed': f'{labels}_postprocessed',
            'forms': 'postprocessing_forms.pkl'}


def make_model_folder(model_dir: Path, plans: dict, configuration: str, pre: Path, folds, extra,
                      seed_base: int, network_checks: bool = True) -> None:
    """Step 3 of the docstring: plans.json, dataset.json, dataset_fingerprint.json and the
    checkpoints of one model folder, from the preprocessed dataset folder `pre`."""
    import torch
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    dataset_json = json.load(open(pre / 'dataset.json'))
    model_dir.mkdir(parents=True)
    json.dump(plans, open(model_dir / 'plans.json', 'w'), indent=4, sort_keys=False)
    json.dump(dataset_json, open(model_dir / 'dataset.json', 'w'), indent=4)
    shutil.copy(pre / 'dataset_fingerprint.json', model_dir / 'dataset_fingerprint.json')
    for fold in folds:
        trainer = nnUNetTrainer(plans, configuration, fold, dataset_json,
                                device=torch.device('cpu'))
        trainer.initialize()
        trainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size()
        fold_dir = model_dir / f'fold_{fold}'
        fold_dir.mkdir()
        for k, name in enumerate(('final',) + (extra if fold == folds[0] else ())):
            save_checkpoint(trainer, fold_dir / f'checkpoint_{name}.pth',
                            seed=100 * seed_base + 10 * fold + k)
            if network_checks:
                network_check(trainer, fold_dir / f'network_check_{name}.npz',
                              plans['configurations'][configuration])


def predict_with_reference(staging: Path, model: str, folds, mirrorings=(False, True),
                           previous_stage: str | None = None) -> dict:
    """Step 4 of the docstring: the reference's predictions of the test case with the model
    folder staging/model (previous_stage: the folder, relative to staging, of the previous
    stage's segmentation of the case, for a cascade stage), and their manifest entry."""
    import torch
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    entry = {'folder': model, 'folds': list(folds)}
    if previous_stage:
        entry['previous_stage'] = f'{previous_stage}/{CASE}.nii.gz'
    for mirroring in mirrorings:
        for accumulators in ('float16', 'float32'):
            predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True,
                                        use_mirroring=mirroring,
                                        perform_everything_on_device=False,
                                        device=torch.device('cpu'), allow_tqdm=False)
            predictor.initialize_from_trained_model_folder(
                str(staging / model), use_folds=folds, checkpoint_name='checkpoint_final.pth')
            kind = 'expected' if accumulators == 'float16' else 'expected_fp32'
            name = f'{kind}/{model}_{"mirrored" if mirroring else "plain"}'
            (staging / name).mkdir(parents=True)
            inputs, outputs = [[str(staging / f'{CASE}_0000.nii.gz')]], [str(staging / name / CASE)]
            with (Float32SlidingWindow() if accumulators == 'float32'
                  else contextlib.nullcontext()):
                if previous_stage:
                    # What nnUNetv2_predict runs; 2.6.0's predict_from_files_sequential reads the
                    # previous stage's segmentation but does not give it to the network.
                    predictor.predict_from_files(
                        inputs, outputs, save_probabilities=True, overwrite=True,
                        num_processes_preprocessing=1, num_processes_segmentation_export=1,
                        folder_with_segs_from_prev_stage=str(staging / previous_stage))
                else:
                    predictor.predict_from_files_sequential(inputs, outputs,
                                                            save_probabilities=True, overwrite=True)
            keep = {f'{CASE}.nii.gz'} | ({f'{CASE}.npz'} if kind == 'expected_fp32' else set())
            for written in (staging / name).iterdir():
                if written.name not in keep:
                    written.unlink()
            entry.setdefault(kind, {})['mirrored' if mirroring else 'plain'] = name
        entry['mirror_axes'] = list(predictor.allowed_mirroring_axes or [])
    return entry


def make_region_model(staging: Path, raw: Path) -> dict:
    """Step 7 of the docstring: a region-based 3d_fullres model of the same images."""
    from nnunetv2.experiment_planning.plan_and_preprocess_api import (extract_fingerprints,
                                                                      plan_experiments, preprocess)
    folder = raw.parent / REGIONS_DATASET_NAME
    shutil.copytree(raw, folder)
    dataset = json.load(open(folder / 'dataset.json'))
    dataset.update({'labels': {'background': 0, 'whole': [1, 2], 'core': 2},
                    'regions_class_order': [1, 2], 'name': 'TinyRegions'})
    with open(folder / 'dataset.json', 'w') as f:
        json.dump(dataset, f, indent=2)
    extract_fingerprints([REGIONS_DATASET_ID], num_processes=1, clean=True, verbose=False)
    plan_experiments([REGIONS_DATASET_ID], 'ExperimentPlanner')
    preprocess([REGIONS_DATASET_ID], 'nnUNetPlans', ('3d_fullres',), (1,))
    pre = Path(os.environ['nnUNet_preprocessed']) / REGIONS_DATASET_NAME
    plans = shrink(json.load(open(pre / 'nnUNetPlans.json')), 16)
    model = f'{REGIONS_DATASET_NAME}/nnUNetTrainer__nnUNetPlans__3d_fullres'
    make_model_folder(staging / model, plans, '3d_fullres', pre, (0,), (), seed_base=5,
                      network_checks=False)
    return predict_with_reference(staging, model, (0,))


def make_cascade(staging: Path) -> dict:
    """Step 8 of the docstring: 3d_lowres and 3d_cascade_fullres, the first's labels the
    second's input."""
    from nnunetv2.experiment_planning.experiment_planners.default_experiment_planner import \
        ExperimentPlanner
    from nnunetv2.experiment_planning.plan_and_preprocess_api import preprocess

    class CascadePlanner(ExperimentPlanner):
        """The default planner plus a 3d_lowres at twice the spacing, linked as its
        plan_experiment links one (this tiny dataset is too small for it to make one)."""

        def plan_experiment(self):
            plans = super().plan_experiment()
            fullres = plans['configurations']['3d_fullres']
            spacing = 2 * np.array(fullres['spacing'])
            shape = tuple(round(s / 2) for s in fullres['median_image_size_in_voxels'])
            lowres = self.get_plans_for_configuration(
                spacing, shape, self.generate_data_identifier('3d_lowres'),
                float(np.prod(shape, dtype=np.float64) * self.dataset_json['numTraining']), {})
            lowres['batch_dice'] = False
            lowres['next_stage'] = '3d_cascade_fullres'
            fullres['batch_dice'] = True
            plans['configurations']['3d_lowres'] = lowres
            plans['configurations']['3d_cascade_fullres'] = {'inherits_from': '3d_fullres',
                                                              'previous_stage': '3d_lowres'}
            self.plans = plans
            self.save_plans(plans)
            return plans

    plans_id = 'nnUNetCascadePlans'
    # The default planner's 3d_fullres: the previous stage's segmentation is resampled onto the
    # cascade stage's grid (batchgenerators 0.25.5's resize_segmentation: argmax of the
    # interpolated masks, ties to the nearest label, which medseg follows).
    CascadePlanner(DATASET_ID, plans_name=plans_id).plan_experiment()
    preprocess([DATASET_ID], plans_id, ('3d_lowres', '3d_fullres'), (1, 1))
    pre = Path(os.environ['nnUNet_preprocessed']) / DATASET_NAME
    plans = shrink(json.load(open(pre / f'{plans_id}.json')), 16)
    entries = {}
    for seed_base, configuration in enumerate(('3d_lowres', '3d_cascade_fullres'), start=6):
        model = f'nnUNetTrainer__{plans_id}__{configuration}'
        make_model_folder(staging / model, plans, configuration, pre, (0,), (), seed_base,
                          network_checks=False)
        previous = entries['3d_lowres']['expected']['plain'] if entries else None
        entries[configuration] = predict_with_reference(
            staging, model, (0,), mirrorings=(False,) if previous is None else (False, True),
            previous_stage=previous)
    return {'lowres': entries['3d_lowres'], 'fullres': entries['3d_cascade_fullres']}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='tests/data/nnunet_results')
    args = parser.parse_args()
    out = Path(args.out).resolve()
    work = Path(tempfile.mkdtemp(prefix='nnunet-fixture-'))
    for name in ('nnUNet_raw', 'nnUNet_preprocessed', 'nnUNet_results'):
        (work / name).mkdir()
        os.environ[name] = str(work / name)
    import torch
    torch.set_num_threads(1)
    from nnunetv2.experiment_planning.plan_and_preprocess_api import (extract_fingerprints,
                                                                      plan_experiments, preprocess)

    raw = make_dataset(work / 'nnUNet_raw')
    extract_fingerprints([DATASET_ID], num_processes=1, clean=True, verbose=False)
    for planner in sorted({m[2] for m in MODELS}):
        plan_experiments([DATASET_ID], planner)
    # nnUNetTrainer.initialize() looks at the preprocessed folder (its file format).
    for _, plans_id, _, configuration, _, _, _ in MODELS:
        preprocess([DATASET_ID], plans_id, (configuration,), (1,))
    pre = work / 'nnUNet_preprocessed' / DATASET_NAME

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix='.nnunet-fixture-', dir=out.parent))
    try:
        shutil.copy(raw / 'imagesTs' / f'{CASE}_0000.nii.gz', staging / f'{CASE}_0000.nii.gz')
        manifest = {'generator': 'scripts/make-nnunet-fixture.py', 'nnunetv2': '2.6.0',
                    'torch': torch.__version__, 'case': CASE, 'models': []}
        for seed_base, (trainer_name, plans_id, _, configuration, folds, extra,
                        factor) in enumerate(MODELS):
            plans = shrink(json.load(open(pre / f'{plans_id}.json')), factor)
            model = f'{trainer_name}__{plans_id}__{configuration}'
            make_model_folder(staging / model, plans, configuration, pre, folds, extra, seed_base)
            manifest['models'].append(predict_with_reference(staging, model, folds))
        manifest['postprocessing'] = make_postprocessing(work, staging, raw)
        manifest['regions'] = make_region_model(staging, raw)
        manifest['cascade'] = make_cascade(staging)
        with open(staging / 'manifest.json', 'w') as f:
            json.dump(manifest, f, indent=2)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        shutil.rmtree(work)
    total = sum(p.stat().st_size for p in out.rglob('*') if p.is_file())
    print(f'make-nnunet-fixture: {out} ({total / 1024:.0f} KiB)', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
