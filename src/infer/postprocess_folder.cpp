#include "medseg/infer/postprocess_folder.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/core/progress.h"
#include "medseg/infer/nnunet_postprocessing.h"
#include "medseg/infer/postprocessing.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"

namespace medseg {

namespace {

fs::path postprocessing_dataset_json(const PostprocessFolderOptions& o) {
  if (!o.dataset_json.empty()) return o.dataset_json;
  for (const fs::path& candidate :
       {o.postprocessing_file.parent_path() / "dataset.json", o.input_dir / "dataset.json"})
    if (fs::exists(candidate)) return candidate;
  throw UsageError(o.postprocessing_file.string(),
                   "no dataset.json beside it or in " + o.input_dir.string() +
                       " (it gives the file ending and the labels): pass --dataset-json");
}

// <case><file_ending> files of `dir` (hidden ones skipped), sorted.
std::vector<std::string> label_map_names(const fs::path& dir, const std::string& ending) {
  if (!fs::is_directory(dir)) throw Error(dir.string(), "input folder not found");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.front() != '.' && name.size() > ending.size() &&
        name.compare(name.size() - ending.size(), ending.size(), ending) == 0)
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void postprocess_label_file(const fs::path& input, const fs::path& output,
                            const PostprocessingPlan& plan) {
  torch::NoGradGuard no_grad;
  Image image = read_image(input);
  if (image.dim() != 2 && image.dim() != 3)
    throw Error(input.string(), "expected a 2D or 3D label map, found " +
                                    std::to_string(image.dim()) + " dimensions");
  if (image.data.is_floating_point()) {
    if (!image.data.equal(image.data.round()))
      throw Error(input.string(), "the label map holds non-integer values");
    image.data = image.data.to(torch::kInt);
  }
  image.data = apply_postprocessing(image.data, plan);
  write_label_image(image, output);
}

}  // namespace

PostprocessFolderResult postprocess_folder(const PostprocessFolderOptions& o) {
  const PostprocessingPlan plan = o.postprocessing_file.extension() == ".pkl"
                                      ? read_nnunet_postprocessing(o.postprocessing_file)
                                      : read_postprocessing(o.postprocessing_file);
  PostprocessFolderResult result;
  result.dataset_json = postprocessing_dataset_json(o);
  const DatasetInfo dataset = read_dataset_json(result.dataset_json);
  check_postprocessing_labels(plan, dataset, o.postprocessing_file, result.dataset_json);
  const std::vector<std::string> names = label_map_names(o.input_dir, dataset.file_ending);
  if (names.empty())
    throw Error(o.input_dir.string(), "holds no label maps ending in " + dataset.file_ending);
  fs::create_directories(o.output_dir);
  Progress progress("postprocess", static_cast<int64_t>(names.size()),
                    case_loop_progress("label maps"));
  parallel_for(names.size(), o.threads, [&](size_t i) {
    postprocess_label_file(o.input_dir / names[i], o.output_dir / names[i], plan);
    progress.advance();
  });
  result.cases = names.size();
  result.steps = plan.steps.size();
  log().info("postprocessed {} label map(s) with {} step(s) of {} into {}", result.cases,
             result.steps, o.postprocessing_file.string(), o.output_dir.string());
  return result;
}

}  // namespace medseg
