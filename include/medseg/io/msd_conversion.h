// `medseg convert-msd`: an original Medical Segmentation Decathlon task folder (4D multi-modal
// NIfTI, the old dataset.json) into the nnU-Net v2 layout medseg reads.
#pragma once

#include <filesystem>

namespace medseg {

struct MsdConversionResult {
  int training_cases = 0;
  int test_cases = 0;
  int channels = 0;
};

// Reads <task_dir>/dataset.json ("modality", "labels" value -> name, "training", "test"),
// writes <out_dir>/dataset.json (channel_names, labels name -> value, numTraining,
// file_ending) and splits every image into <case>_0000.nii.gz, <case>_0001.nii.gz, ... in
// imagesTr / imagesTs; labels are copied to labelsTr. Runs cases on `threads` threads.
MsdConversionResult convert_msd(const std::filesystem::path& task_dir, const std::filesystem::path& out_dir,
                                int threads);

}  // namespace medseg
