// Writing a phantom volume to disk: the scan and its mask as MetaImage, the
// same as PNG folders (one 8-bit PNG per B-scan), and the true boundaries as .npy.

import Foundation
import Records

extension OCTPhantomVolume {
    /// The scan as a volume of 8-bit gray values (0…255), like an exported Spectralis scan.
    public var volume: Volume {
        var v = Volume(bscans: bscans, spacingY: settings.spacingY)
        for i in v.voxels.indices { v.voxels[i] = (v.voxels[i] * 255).rounded() }
        return v
    }

    /// The label volume (0 background, 1 intraretinal fluid, 2 subretinal fluid, 3 hyperreflective focus).
    public var maskVolume: Volume {
        var v = Volume(bscans: bscans, spacingY: settings.spacingY)
        v.voxels = masks.flatMap { $0.labels.map(Float.init) }
        return v
    }

    /// Files written by `write(to:name:)`.
    public struct Files {
        public var scan, mask, boundaries, description, pngFolder, maskPNGFolder: URL
    }

    /// What `<name>.json` records: how to make the volume again and what the files hold.
    struct Description: Codable {
        var format = "anogan-oct-phantom"
        var settings: OCTPhantomSettings
        var seed: UInt64
        var maskValues = ["0": "background", "1": "intraretinal fluid", "2": "subretinal fluid", "3": "hyperreflective focus"]
        var boundaries = "float32 B×2×W: [b][0][x] ILM row, [b][1][x] Bruch's membrane row (fractional, 0 = centre of the top row)"
    }

    /// Writes into `directory`: `<name>.mha` (uchar), `<name>_mask.mha`, `<name>.json` (settings, seed),
    /// `<name>_boundaries.npy` (float32 B×2×W: [b][0][x] ILM row, [b][1][x] Bruch row,
    /// fractional rows from the top row's centre), and PNG folders `<name>_png/`
    /// and `<name>_mask_png/` with `bscan_NNN.png`. Each file atomically.
    @discardableResult
    public func write(to directory: URL, name: String, png: Bool = true) throws -> Files {
        let files = Files(scan: directory.appendingPathComponent("\(name).mha"),
                          mask: directory.appendingPathComponent("\(name)_mask.mha"),
                          boundaries: directory.appendingPathComponent("\(name)_boundaries.npy"),
                          description: directory.appendingPathComponent("\(name).json"),
                          pngFolder: directory.appendingPathComponent("\(name)_png"),
                          maskPNGFolder: directory.appendingPathComponent("\(name)_mask_png"))
        try MetaImage.write(volume, to: files.scan, elementType: .uchar)
        try MetaImage.write(maskVolume, to: files.mask, elementType: .uchar)
        var rows: [Float] = []
        for b in boundaries { rows += b.ilm; rows += b.bruch }
        try NPY.write(Tensor(shape: [boundaries.count, 2, settings.width], values: rows), to: files.boundaries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Description(settings: settings, seed: seed)).writeAtomically(to: files.description)
        if png {
            for (i, b) in bscans.enumerated() {
                let file = String(format: "bscan_%03d.png", i)
                try PNG.write(width: b.width, height: b.height, channels: 1,
                              pixels8: b.pixels.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) },
                              to: files.pngFolder.appendingPathComponent(file))
                try PNG.write(width: b.width, height: b.height, channels: 1, pixels8: masks[i].labels,
                              to: files.maskPNGFolder.appendingPathComponent(file))
            }
        }
        return files
    }
}
