// The model folder <work>/models/<configuration>/ that training writes and prediction reads:
// plans.json, dataset.json, optional postprocessing.json and fold_<k>/checkpoint_<name>.pt.
// Self-contained, so it can be copied to another machine and used alone.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace medseg {

// -f all: the model trained on every case (folder fold_all), as in the reference.
inline constexpr int kFoldAll = -1;

// "fold_3" / "fold_all": the fold's folder name in a model folder.
std::string fold_folder_name(int fold);

std::filesystem::path fold_directory(const std::filesystem::path& model_dir, int fold);

// The fold numbers k with a fold_<k> folder, ascending (fold_all not included).
std::vector<int> available_folds(const std::filesystem::path& model_dir);

// `requested` as given (each must have its folder, kFoldAll standing for fold_all: Error naming
// the missing folder), or when empty every numbered fold, or fold_all when the model has only
// that (Error when there is none).
std::vector<int> resolve_folds(const std::filesystem::path& model_dir,
                               const std::vector<int>& requested);

// The checkpoint name of `text`: final, best or latest, also as a file name of either kind
// (checkpoint_best.pth, the reference's -chk, or checkpoint_best.pt); UsageError otherwise.
std::string checkpoint_name(const std::string& text);

// fold_<k>/checkpoint_<name>.pt, for name final, best or latest (Error otherwise).
std::filesystem::path checkpoint_file(const std::filesystem::path& model_dir, int fold,
                                      const std::string& name);

// The checkpoint prediction loads for `name`: checkpoint_file, except that "latest" gives
// checkpoint_final.pt when that exists and is at least as new (by its recorded epoch) or the
// latest one is gone: training removes checkpoint_latest.pt once the final one is written, and
// a run killed between the two must not leave an older model to be picked (a warning says so).
std::filesystem::path newest_checkpoint(const std::filesystem::path& model_dir, int fold,
                                        const std::string& name);

// Whether a model was trained with mirror augmentation: false when its trainer_settings.json
// says "mirroring" or "augmentation" false (such a model has not learnt mirrored anatomy, so
// test-time mirroring would average in predictions it was never trained for; as in the
// reference, it is predicted unmirrored); true when the file is absent.
bool trained_with_mirroring(const std::filesystem::path& settings_file);

// The configuration a model folder holds by default: its own name ("3d_fullres").
std::string folder_configuration(const std::filesystem::path& model_dir);

}  // namespace medseg
