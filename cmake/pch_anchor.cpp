// Anchors the shared precompiled torch header (medseg_torch_pch); it has no code of its own.
