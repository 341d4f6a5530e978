// A folder of B-scan PNGs as one OCT volume, with optional annotation masks
// (PNG files of the same name in another folder; nonzero = annotated).

import Foundation
import Records

/// One volume read from a folder of B-scan images.
public struct BScanFolder {
    /// The B-scans in name order as slices z = 0, 1, …; grey values in the
    /// files' own units (0…255 for 8-bit, 0…65535 for 16-bit; colour reduced with
    /// Rec. 601 luma). Spacing is 1 (a PNG does not record it).
    public var volume: Volume
    /// Same size as `volume`; 1 where annotated, 0 elsewhere (and on B-scans without a mask file).
    public var masks: Volume?
    /// File name of each slice.
    public var names: [String]
    /// 8 or 16: the B-scans' bit depth.
    public var bitDepth: Int

    public init(volume: Volume, masks: Volume?, names: [String], bitDepth: Int) {
        self.volume = volume
        self.masks = masks
        self.names = names
        self.bitDepth = bitDepth
    }

    /// Reads the `*.png` files of `directory` (name order, numbers compared numerically).
    /// All B-scans must share size and bit depth. When `masks` is given, a mask file
    /// with the same name belongs to each B-scan; B-scans without one are unannotated,
    /// and a mask file matching no B-scan is an error (a naming mistake, not silence).
    public static func read(directory: URL, masks maskDirectory: URL?) throws -> BScanFolder {
        let files = try ImageFolder.pngFiles(in: directory)
        guard let first = files.first else { throw FileError(directory, "no .png B-scans in this directory") }
        var width = 0, height = 0, bitDepth = 0
        var voxels: [Float] = []
        for url in files {
            let image = try PNG.read(url)
            if url == first { (width, height, bitDepth) = (image.width, image.height, image.bitDepth) }
            guard image.width == width, image.height == height else {
                throw FileError(url, "B-scan is \(image.width)×\(image.height), but \(first.lastPathComponent) is \(width)×\(height)")
            }
            guard image.bitDepth == bitDepth else {
                throw FileError(url, "B-scan is \(image.bitDepth)-bit, but \(first.lastPathComponent) is \(bitDepth)-bit")
            }
            let scale = Float(image.maxValue)
            voxels += image.grayscale().map { ($0 * scale).rounded() }
        }
        let names = files.map(\.lastPathComponent)
        let volume = Volume(width: width, height: height, depth: files.count, voxels: voxels)
        guard let maskDirectory else { return BScanFolder(volume: volume, masks: nil, names: names, bitDepth: bitDepth) }

        let maskFiles = try ImageFolder.pngFiles(in: maskDirectory)
        guard !maskFiles.isEmpty else { throw FileError(maskDirectory, "no .png masks in this directory") }
        var slice = [String: Int]()
        for (z, name) in names.enumerated() { slice[name] = z }
        var maskVoxels = [Float](repeating: 0, count: voxels.count)
        for url in maskFiles {
            guard let z = slice[url.lastPathComponent] else {
                throw FileError(url, "mask matches no B-scan of the same name in \(directory.path)")
            }
            let mask = try PNG.read(url)
            guard mask.width == width, mask.height == height else {
                throw FileError(url, "mask is \(mask.width)×\(mask.height), its B-scan is \(width)×\(height)")
            }
            let grey = mask.grayscale()
            for i in 0..<grey.count where grey[i] != 0 { maskVoxels[z * width * height + i] = 1 }
        }
        return BScanFolder(volume: volume, masks: Volume(width: width, height: height, depth: files.count, voxels: maskVoxels),
                           names: names, bitDepth: bitDepth)
    }
}
