#!/usr/bin/env python3
"""An independent reader of medseg's DICOM output (pydicom + numpy, no medseg or DCMTK code).

Decodes a Segmentation object's bit-packed BINARY frames and rasterises an RT Structure Set's
contours (even-odd point-in-polygon at voxel centres), each placed through the source series'
geometry, and compares them with the label map medseg wrote as NIfTI for the same case.

  dicom_output_check.py --series DIR --nifti FILE --labels JSON [--seg FILE] [--rtstruct FILE]
                        [--exact NAME ...] [--min-dice 0.98] [--require-nonempty]

JSON: {"labels": {"<name>": <value> or [<value>, ...], ...}} (dataset.json's form; "background"
is left out). A label with a list of values is a region (with "regions_class_order"): the voxels
whose value is in the list. SEG: each segment must equal its label's voxels exactly, and the
segments may overlap only where labels share values (SegmentsOverlap YES). RTSTRUCT: per label
the Dice of the rasterised contours and the label map; --exact labels (each must be a label of
JSON) must match voxel for voxel, the others need at least --min-dice. Both: the patient's name
and the character set as the source's (UTF-8 where a name needs it). --require-nonempty: the
label map must have a foreground voxel. Exits 1 with the reason on the first mismatch.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import pydicom


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def read_series(folder):
    """Source slices sorted along the normal, with the geometry to place pixels."""
    slices = []
    for root, _, files in os.walk(folder):
        for name in files:
            ds = pydicom.dcmread(os.path.join(root, name), stop_before_pixels=True)
            slices.append(ds)
    if not slices:
        fail("no DICOM files in " + folder)
    iop = np.array([float(v) for v in slices[0].ImageOrientationPatient])
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    slices.sort(key=lambda d: float(np.dot(normal, [float(v) for v in d.ImagePositionPatient])))
    ipp = np.array([[float(v) for v in d.ImagePositionPatient] for d in slices])
    spacing = [float(v) for v in slices[0].PixelSpacing]  # between rows, between columns
    return {
        "datasets": slices,
        "sop": [d.SOPInstanceUID for d in slices],
        "series": slices[0].SeriesInstanceUID,
        "study": slices[0].StudyInstanceUID,
        "frame": slices[0].FrameOfReferenceUID,
        "patient": slices[0].PatientID,
        "patient_name": str(slices[0].PatientName),
        "charset": slices[0].get("SpecificCharacterSet", ""),
        "row": row, "col": col, "normal": normal, "ipp": ipp,
        "dr": spacing[0], "dc": spacing[1],
        "shape": (len(slices), int(slices[0].Rows), int(slices[0].Columns)),
        "iop": iop, "spacing": spacing,
    }


def read_nifti(path):
    """(z, y, x) array and the voxel-to-RAS sform of a NIfTI-1 file."""
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    endian = "<" if struct.unpack("<i", raw[:4])[0] == 348 else ">"
    dims = struct.unpack(endian + "8h", raw[40:56])
    datatype = struct.unpack(endian + "h", raw[70:72])[0]
    offset = int(struct.unpack(endian + "f", raw[108:112])[0])
    slope, inter = struct.unpack(endian + "2f", raw[112:120])
    sform_code = struct.unpack(endian + "h", raw[254:256])[0]
    srow = np.array(struct.unpack(endian + "12f", raw[280:328]), float).reshape(3, 4)
    types = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4"}
    if datatype not in types:
        fail("%s: NIfTI datatype %d not handled" % (path, datatype))
    if dims[0] != 3:
        fail("%s: %d dimensions, expected 3" % (path, dims[0]))
    nx, ny, nz = dims[1:4]
    data = np.frombuffer(raw, endian + types[datatype], nx * ny * nz, offset).reshape(nz, ny, nx)
    if slope not in (0.0, 1.0) or inter != 0.0:
        data = data * slope + inter
    if sform_code <= 0:
        fail(path + ": no sform to compare the geometry with")
    return data.astype(np.int64), srow


def check_nifti_geometry(src, srow, path):
    """The NIfTI's voxel-to-world map equals the series' (RAS there, LPS in DICOM)."""
    k, r, c = src["shape"]
    for (i, j, kk) in [(0, 0, 0), (c - 1, 0, 0), (0, r - 1, 0), (0, 0, k - 1), (c - 1, r - 1, k - 1)]:
        ras = srow @ np.array([i, j, kk, 1.0])
        lps = ras * np.array([-1, -1, 1])
        expected = src["ipp"][kk] + i * src["dc"] * src["row"] + j * src["dr"] * src["col"]
        if np.abs(lps - expected).max() > 1e-3:
            fail("%s: voxel (%d, %d, %d) lies at %s (LPS), the series puts it at %s"
                 % (path, i, j, kk, lps, expected))


def slice_of_position(src, position, what):
    d = np.abs(src["ipp"] - np.asarray(position, float)).max(axis=1)
    k = int(np.argmin(d))
    if d[k] > 1e-3:
        fail("%s: position %s is no slice of the source series" % (what, list(position)))
    return k


def check_common(ds, src, path, values):
    if ds.StudyInstanceUID != src["study"]:
        fail(path + ": StudyInstanceUID differs from the source's")
    if ds.PatientID != src["patient"]:
        fail(path + ": PatientID differs from the source's")
    # Decoded with each file's own SpecificCharacterSet: a missing one garbles non-ASCII text.
    if str(ds.PatientName) != src["patient_name"]:
        fail("%s: PatientName %r, the source's %r" % (path, str(ds.PatientName), src["patient_name"]))
    wide = any(not n.isascii() for n in values)
    expected = "ISO_IR 192" if wide else src["charset"]
    if ds.get("SpecificCharacterSet", "") != expected:
        fail("%s: SpecificCharacterSet %r, expected %r" % (path, ds.get("SpecificCharacterSet", ""), expected))
    if ds.SeriesInstanceUID == src["series"]:
        fail(path + ": reuses the source's SeriesInstanceUID")


def decode_seg(path, src, values):
    ds = pydicom.dcmread(path)
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.66.4" or ds.Modality != "SEG":
        fail(path + ": not a Segmentation object")
    if ds.SegmentationType != "BINARY" or int(ds.BitsAllocated) != 1:
        fail(path + ": not a BINARY segmentation with 1 bit per pixel")
    check_common(ds, src, path, values)
    if ds.FrameOfReferenceUID != src["frame"]:
        fail(path + ": FrameOfReferenceUID differs from the source's")
    refs = ds.ReferencedSeriesSequence[0]
    if refs.SeriesInstanceUID != src["series"]:
        fail(path + ": references another series")
    if sorted(i.ReferencedSOPInstanceUID for i in refs.ReferencedInstanceSequence) != sorted(src["sop"]):
        fail(path + ": does not reference every instance of the source series")
    k, rows, cols = src["shape"]
    if (int(ds.Rows), int(ds.Columns)) != (rows, cols):
        fail(path + ": frames are not %dx%d" % (rows, cols))
    shared = ds.SharedFunctionalGroupsSequence[0]
    iop = np.array([float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient])
    spacing = [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing]
    if np.abs(iop - src["iop"]).max() > 1e-6 or np.abs(np.subtract(spacing, src["spacing"])).max() > 1e-6:
        fail(path + ": orientation %s or pixel spacing %s is not the source's" % (iop, spacing))
    number_to_name = {}
    for item in ds.SegmentSequence:
        name = item.SegmentLabel
        if name not in values:
            fail(path + ": segment label %r is no label of the dataset" % name)
        number_to_name[int(item.SegmentNumber)] = name
    if sorted(number_to_name.values()) != sorted(values):
        fail(path + ": segments %s, labels %s" % (sorted(number_to_name.values()), sorted(values)))
    overlap = labels_overlap(values)
    if ds.SegmentsOverlap != ("YES" if overlap else "NO"):
        fail("%s: SegmentsOverlap %s, but the labels %s" % (
            path, ds.SegmentsOverlap, "share values" if overlap else "are disjoint"))
    frames = int(ds.NumberOfFrames)
    # Frames are packed bit after bit, the first pixel in the lowest bit, without padding between frames.
    bits = np.unpackbits(np.frombuffer(ds.PixelData, np.uint8), bitorder="little")
    if bits.size < frames * rows * cols:
        fail(path + ": Pixel Data too short for %d frames" % frames)
    bits = bits[: frames * rows * cols].reshape(frames, rows, cols).astype(bool)
    masks = {name: np.zeros((k, rows, cols), bool) for name in values}
    for f, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        name = number_to_name[int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)]
        position = [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient]
        z = slice_of_position(src, position, "%s frame %d" % (path, f + 1))
        source = item.DerivationImageSequence[0].SourceImageSequence[0]
        if source.ReferencedSOPInstanceUID != src["sop"][z]:
            fail("%s frame %d: lies on slice %d but references another instance" % (path, f + 1, z))
        if not overlap and any(np.any(m[z] & bits[f]) for n, m in masks.items() if n != name):
            fail("%s frame %d: overlaps another segment" % (path, f + 1))
        masks[name][z] |= bits[f]
    return masks


def labels_overlap(values):
    """True when two labels share a value (nested regions)."""
    seen = set()
    for v in values.values():
        if seen & set(v):
            return True
        seen |= set(v)
    return False


def rasterise_rtstruct(path, src, values):
    ds = pydicom.dcmread(path)
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.481.3" or ds.Modality != "RTSTRUCT":
        fail(path + ": not an RT Structure Set")
    check_common(ds, src, path, values)
    ref_frame = ds.ReferencedFrameOfReferenceSequence[0]
    if ref_frame.FrameOfReferenceUID != src["frame"]:
        fail(path + ": references another Frame of Reference")
    ref_series = ref_frame.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    if ref_series.SeriesInstanceUID != src["series"]:
        fail(path + ": references another series")
    if sorted(i.ReferencedSOPInstanceUID for i in ref_series.ContourImageSequence) != sorted(src["sop"]):
        fail(path + ": does not list every instance of the source series")
    names = {int(r.ROINumber): r.ROIName for r in ds.StructureSetROISequence}
    if sorted(names.values()) != sorted(values):
        fail(path + ": ROIs %s, labels %s" % (sorted(names.values()), sorted(values)))
    k, rows, cols = src["shape"]
    jj, ii = np.mgrid[0:rows, 0:cols].astype(float)  # voxel centres (row, column)
    masks, contours = {}, 0
    for roi in ds.ROIContourSequence:
        name = names[int(roi.ReferencedROINumber)]
        mask = np.zeros((k, rows, cols), bool)
        for item in getattr(roi, "ContourSequence", []):
            if item.ContourGeometricType != "CLOSED_PLANAR":
                fail("%s: ROI %s has a %s contour" % (path, name, item.ContourGeometricType))
            points = np.asarray([float(v) for v in item.ContourData]).reshape(-1, 3)
            if len(points) != int(item.NumberOfContourPoints):
                fail("%s: ROI %s: NumberOfContourPoints differs from the data" % (path, name))
            rel = points - src["ipp"][0]
            x = rel @ src["row"] / src["dc"]
            y = rel @ src["col"] / src["dr"]
            kf = rel @ src["normal"]
            z = slice_of_position(src, src["ipp"][0] + np.median(kf) * src["normal"], path + " contour")
            d = rel - (src["ipp"][z] - src["ipp"][0])
            if np.abs(d @ src["normal"]).max() > 1e-3:
                fail("%s: ROI %s: a contour does not lie in the plane of slice %d" % (path, name, z))
            if item.ContourImageSequence[0].ReferencedSOPInstanceUID != src["sop"][z]:
                fail("%s: ROI %s: a contour on slice %d references another instance" % (path, name, z))
            x = (d @ src["row"]) / src["dc"]
            y = (d @ src["col"]) / src["dr"]
            inside = np.zeros((rows, cols), bool)
            for x0, y0, x1, y1 in zip(x, y, np.roll(x, -1), np.roll(y, -1)):
                crosses = (y0 > jj) != (y1 > jj)
                if not crosses.any():
                    continue
                xs = x0 + (jj - y0) * (x1 - x0) / (y1 - y0 if y1 != y0 else 1.0)
                inside ^= crosses & (ii < xs)
            mask[z] ^= inside  # even-odd over the rings: holes and islands in holes
            contours += 1
        masks[name] = mask
    return masks, contours


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", required=True)
    p.add_argument("--nifti", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--seg")
    p.add_argument("--rtstruct")
    p.add_argument("--exact", nargs="*", default=[])
    p.add_argument("--min-dice", type=float, default=0.98)
    p.add_argument("--require-nonempty", action="store_true")
    a = p.parse_args()
    labels = json.load(open(a.labels))["labels"]
    values = {n: (v if isinstance(v, list) else [v]) for n, v in labels.items() if n != "background"}
    unknown = [n for n in a.exact if n not in values]
    if unknown:
        fail("--exact %s: no label of %s (labels: %s)" % (unknown, a.labels, sorted(values)))
    src = read_series(a.series)
    expected, srow = read_nifti(a.nifti)
    if expected.shape != src["shape"]:
        fail("%s: shape %s, the series %s" % (a.nifti, expected.shape, src["shape"]))
    check_nifti_geometry(src, srow, a.nifti)
    known = set().union(*values.values()) | {0}
    stray = sorted(set(np.unique(expected).tolist()) - known)
    if stray:
        fail("%s: values %s belong to no label of %s" % (a.nifti, stray, a.labels))
    truths = {n: np.isin(expected, v) for n, v in values.items()}
    counts = ", ".join("%s %d" % (n, int(t.sum())) for n, t in truths.items())
    print("label map %s: %s voxels" % (os.path.basename(a.nifti), counts))
    if a.require_nonempty and not np.any(expected != 0):
        fail("%s: the label map has no foreground voxel" % a.nifti)
    if a.seg:
        masks = decode_seg(a.seg, src, values)
        for name, truth in truths.items():
            if not np.array_equal(masks[name], truth):
                fail("%s: segment %r: %d voxels differ from %s" % (
                    a.seg, name, int((masks[name] != truth).sum()), a.nifti))
        print("SEG %s: %d frames, every segment equal to the label map" % (
            os.path.basename(a.seg), len(pydicom.dcmread(a.seg).PerFrameFunctionalGroupsSequence)))
    if a.rtstruct:
        masks, contours = rasterise_rtstruct(a.rtstruct, src, values)
        for name, truth in truths.items():
            got = masks[name]
            total = truth.sum() + got.sum()
            dice = 1.0 if total == 0 else 2.0 * (truth & got).sum() / total
            exact = np.array_equal(truth, got)
            print("RTSTRUCT %s: ROI %r: Dice %.4f, %s" % (
                os.path.basename(a.rtstruct), name, dice, "exact" if exact else
                "%d voxels differ" % int((truth != got).sum())))
            if name in a.exact and not exact:
                fail("ROI %r must rasterise to the label map exactly" % name)
            if dice < a.min_dice:
                fail("ROI %r: Dice %.4f below %.2f" % (name, dice, a.min_dice))
        print("RTSTRUCT %s: %d contours" % (os.path.basename(a.rtstruct), contours))


if __name__ == "__main__":
    main()
