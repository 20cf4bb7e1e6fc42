// `medseg convert-dicom -i <dicom folder> -o <images folder> [--channels map.json]
//  [--num-channels N] [--file-ending .nii.gz] [--record file.json]`
#include "commands.h"
#include "medseg/core/log.h"
#include "medseg/io/dicom_cases.h"

namespace medseg::app {

void add_convert_dicom_command(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<DicomConversionOptions>();
  auto* cmd = app.add_subcommand(
      "convert-dicom",
      "Convert DICOM series into <case>_XXXX NIfTI files (a dataset's imagesTr/imagesTs) and "
      "record each file's series");
  cmd->add_option("-i,--input", o->input, "Folder of DICOM series (searched recursively)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", o->output_dir, "Output folder of <case>_XXXX<file ending> files")
      ->required();
  cmd->add_option("--channels", o->channel_map,
                  "Channel map JSON {\"<case>\": [\"<SeriesInstanceUID of channel 0>\", ...], ...} "
                  "(default: each series a single-channel case)");
  cmd->add_option("--num-channels", o->num_channels,
                  "Channels per case (default: 1, or the channel map's lists)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--file-ending", o->file_ending, "Output file ending (default .nii.gz)");
  cmd->add_option("--record", o->record_file,
                  "Where to write the series record (default <output>_dicom_series.json beside "
                  "the output folder)");
  cmd->callback([o, &global] {
    apply_global_options(global);
    const DicomConversionResult r = convert_dicom(*o);
    log().info("converted {} case(s) into {} file(s) in {}; series record {}", r.cases, r.files,
               o->output_dir.string(), r.record_file.string());
  });
}

}  // namespace medseg::app
