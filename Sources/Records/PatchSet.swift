// Patch sets: the images a model trains on or scores, with optional labels,
// annotation masks, provenance, stable ids and the geometry that places every
// patch pixel in its original B-scan, stored as a directory of .npy files plus
// a JSON manifest (`PatchSet.Manifest`, file names in `PatchSet.Files`) so any
// NumPy user can open them.

import Foundation

/// Where a patch came from: volume name, B-scan index and the patch's top-left pixel (x, y).
public struct PatchSource: Codable, Equatable, Sendable {
    public var volume: String
    public var bscan: Int
    public var x: Int
    public var y: Int

    public init(volume: String, bscan: Int, x: Int, y: Int) {
        self.volume = volume
        self.bscan = bscan
        self.x = x
        self.y = y
    }

    /// "volume/bscan/x/y": the id of a patch whose set stores no ids.
    public var id: String { "\(volume)/\(bscan)/\(x)/\(y)" }
}

/// How the columns of one prepared (resampled, flattened) B-scan map back to the
/// original B-scan: a patch at (x, y) in the prepared B-scan has its pixel (r, c)
/// at prepared column j = x + c, prepared row i = y + r, which is
/// original row `i + rowOffsets[j]` and original column `j · columnScale`
/// (fractional: resampling interpolates linearly between neighbouring columns).
public struct BScanGeometry: Codable, Equatable, Sendable {
    public var volume: String
    public var bscan: Int
    /// Size of the original B-scan in pixels.
    public var originalWidth: Int
    public var originalHeight: Int
    /// Original columns per prepared column: target spacing / original spacing (1 when not resampled).
    public var columnScale: Double
    /// Per prepared column, the whole-row shift flattening applied: original row = prepared row + offset.
    public var rowOffsets: [Int]

    public init(volume: String, bscan: Int, originalWidth: Int, originalHeight: Int, columnScale: Double, rowOffsets: [Int]) {
        self.volume = volume
        self.bscan = bscan
        self.originalWidth = originalWidth
        self.originalHeight = originalHeight
        self.columnScale = columnScale
        self.rowOffsets = rowOffsets
    }

    /// The original-B-scan position of prepared pixel (row, column): row exact, column fractional.
    public func originalPosition(row: Int, column: Int) -> (row: Int, column: Double) {
        (row + rowOffsets[column], Double(column) * columnScale)
    }

    /// The inverse of `originalPosition`: the prepared pixels whose linear interpolation
    /// along x gives original pixel (row, column), as resampling interpolates. Original
    /// column c lies at prepared column u = c / columnScale, between columns j0 = ⌊u⌋ and
    /// j1 = j0 + 1 (weights 1 − t and t); in column j it is prepared row `row − rowOffsets[j]`
    /// (which may lie outside the prepared B-scan). Columns past the last prepared one take it.
    public func preparedSamples(row: Int, column: Int) -> [(row: Int, column: Int, weight: Double)] {
        let u = Double(column) / columnScale, last = rowOffsets.count - 1
        let j0 = min(last, Int(u.rounded(.down))), t = j0 == last ? 0 : u - Double(j0)
        guard t > 1e-9 else { return [(row - rowOffsets[j0], j0, 1)] }
        return [(row - rowOffsets[j0], j0, 1 - t), (row - rowOffsets[j0 + 1], j0 + 1, t)]
    }
}

/// One patch's full geometry: where it sits in its prepared B-scan and how that maps to the original.
public struct PatchGeometry: Equatable, Sendable {
    public var source: PatchSource
    /// Side of the patch in pixels.
    public var size: Int
    public var bscan: BScanGeometry

    /// The original-B-scan position of patch pixel (row, column), 0 ≤ row, column < size.
    /// The row may lie outside 0..<originalHeight where flattening filled the patch with background.
    public func originalPosition(row: Int, column: Int) -> (row: Int, column: Double) {
        precondition(row >= 0 && row < size && column >= 0 && column < size, "pixel (\(row), \(column)) outside a \(size)² patch")
        return bscan.originalPosition(row: source.y + row, column: source.x + column)
    }
}

/// N square grey images in [-1, 1] with optional per-image labels, masks and sources.
///
/// On disk (a directory): `images.npy` float32 N×1×S×S, `labels.npy` int64 [N]
/// (0 normal, 1 anomalous, −1 unknown; optional), `masks.npy` uint8 N×1×S×S
/// (nonzero = annotated; optional), `manifest.json`.
public struct PatchSet {
    /// N×1×S×S, values in [-1, 1].
    public var images: Tensor
    /// One label per image: 0 normal, 1 anomalous, −1 unknown.
    public var labels: [Int]?
    /// N×1×S×S with values 0 or 1 (1 = annotated as anomalous).
    public var masks: Tensor?
    /// Provenance of each patch.
    public var sources: [PatchSource]?
    /// One stable, unique id per image, taken from its provenance (`defaultIDs`): it
    /// names the image's row in scores.csv and, with the scoring seed, seeds its z₁.
    public var ids: [String]
    /// Geometry of the prepared B-scans the patches were cut from (OCT sets), one per (volume, B-scan).
    public var bscans: [BScanGeometry]?
    /// Free-form settings of whatever made the set (recorded in the manifest).
    public var settings: [String: String]
    /// Seed of whatever made the set, when it was random.
    public var seed: UInt64?

    /// `ids` nil: `defaultIDs(count:sources:)`.
    public init(images: Tensor, labels: [Int]? = nil, masks: Tensor? = nil, sources: [PatchSource]? = nil,
                ids: [String]? = nil, bscans: [BScanGeometry]? = nil, settings: [String: String] = [:], seed: UInt64? = nil) {
        self.images = images
        self.labels = labels
        self.masks = masks
        self.sources = sources
        self.ids = ids ?? Self.defaultIDs(count: images.shape.first ?? 0, sources: sources)
        self.bscans = bscans
        self.settings = settings
        self.seed = seed
    }

    /// Ids of a set that stores none: each source's "volume/bscan/x/y" (a repeat of an
    /// earlier one gets "#2", "#3", … in order, as two random patches can share a
    /// position), or without sources the row index "0", "1", ….
    public static func defaultIDs(count: Int, sources: [PatchSource]?) -> [String] {
        guard let sources, sources.count == count else { return (0..<count).map { String($0) } }
        var seen: [String: Int] = [:]
        return sources.map { source in
            let id = source.id
            let n = (seen[id] ?? 0) + 1
            seen[id] = n
            return n == 1 ? id : "\(id)#\(n)"
        }
    }

    /// The full geometry of patch `index`, when the set has sources and B-scan geometry.
    public func geometry(of index: Int) -> PatchGeometry? {
        guard let source = sources?[index],
              let bscan = bscans?.first(where: { $0.volume == source.volume && $0.bscan == source.bscan }) else { return nil }
        return PatchGeometry(source: source, size: size, bscan: bscan)
    }

    /// Number of images N.
    public var count: Int { images.shape.first ?? 0 }
    /// Side length S of the square images.
    public var size: Int { images.rank == 4 ? images.shape[3] : 0 }

    /// The images (and their labels, masks, sources) at `indices`, in that order.
    public func subset(_ indices: [Int]) -> PatchSet {
        let item = images.itemCount
        let itemShape = Array(images.shape.dropFirst())
        let picked = Tensor(shape: [indices.count] + itemShape)
        let pickedMasks = masks.map { _ in Tensor(shape: [indices.count] + itemShape) }
        for (j, i) in indices.enumerated() {
            precondition(i >= 0 && i < count, "subset index \(i) out of 0..<\(count)")
            (picked.data + j * item).update(from: images.data + i * item, count: item)
            if let pickedMasks, let masks { (pickedMasks.data + j * item).update(from: masks.data + i * item, count: item) }
        }
        return PatchSet(images: picked, labels: labels.map { l in indices.map { l[$0] } }, masks: pickedMasks,
                        sources: sources.map { s in indices.map { s[$0] } }, ids: indices.map { ids[$0] },
                        bscans: bscans, settings: settings, seed: seed)
    }

    /// Values may exceed [-1, 1] by this much (rounding in whatever wrote them).
    public static let rangeTolerance: Float = 1e-3

    /// The files of a patch set directory.
    public enum Files {
        public static let images = "images.npy", labels = "labels.npy", masks = "masks.npy", manifest = "manifest.json"
    }
    static let imagesFile = Files.images, labelsFile = Files.labels, masksFile = Files.masks, manifestFile = Files.manifest

    /// manifest.json. Every field but format, version, count and size is optional,
    /// so manifests of older sets (without ids or geometry) still load.
    public struct Manifest: Codable, Equatable, Sendable {
        public static let currentFormat = "anogan-patchset"
        public static let currentVersion = 1

        public var format: String
        public var version: Int
        public var count: Int
        public var size: Int
        public var settings: [String: String]?
        public var seed: UInt64?
        public var sources: [PatchSource]?
        /// One per image; absent in older sets (then `defaultIDs`).
        public var ids: [String]?
        public var bscans: [BScanGeometry]?
    }

    /// The manifest describing this set.
    public var manifest: Manifest {
        Manifest(format: Manifest.currentFormat, version: Manifest.currentVersion, count: count, size: size,
                 settings: settings, seed: seed, sources: sources, ids: ids, bscans: bscans)
    }

    // MARK: Validation

    /// Checks shapes, ranges, NaN and counts; `path` names the offending file.
    func validate(directory: URL) throws {
        let imagesPath = directory.appendingPathComponent(Self.imagesFile).path
        guard images.rank == 4, images.shape[1] == 1, images.shape[2] == images.shape[3] else {
            throw FileError(imagesPath, "images must be N×1×S×S (one grey channel, square), got \(images.shape)")
        }
        guard count > 0, size > 0 else { throw FileError(imagesPath, "patch set is empty (shape \(images.shape))") }
        let limit = 1 + Self.rangeTolerance
        for i in 0..<images.count {
            let v = images.data[i]
            guard v.isFinite else { throw FileError(imagesPath, "value \(v) at flat index \(i) (image \(i / (size * size))) is not finite") }
            guard abs(v) <= limit else { throw FileError(imagesPath, "value \(v) at flat index \(i) (image \(i / (size * size))) is outside [-1, 1]") }
        }
        if let labels {
            let path = directory.appendingPathComponent(Self.labelsFile).path
            guard labels.count == count else { throw FileError(path, "\(labels.count) labels for \(count) images") }
            if let bad = labels.firstIndex(where: { ![-1, 0, 1].contains($0) }) {
                throw FileError(path, "label \(labels[bad]) at index \(bad) is not 0 (normal), 1 (anomalous) or -1 (unknown)")
            }
        }
        if let masks {
            let path = directory.appendingPathComponent(Self.masksFile).path
            guard masks.shape == images.shape else { throw FileError(path, "masks have shape \(masks.shape), images \(images.shape)") }
        }
        let manifestPath = directory.appendingPathComponent(Self.manifestFile).path
        if let sources, sources.count != count {
            throw FileError(manifestPath, "\(sources.count) sources for \(count) images")
        }
        guard ids.count == count else { throw FileError(manifestPath, "\(ids.count) ids for \(count) images") }
        var first: [String: Int] = [:]
        for (i, id) in ids.enumerated() {
            if id.isEmpty || id.contains(where: \.isNewline) { throw FileError(manifestPath, "id of image \(i) is empty or holds a line break") }
            if let j = first.updateValue(i, forKey: id) {
                throw FileError(manifestPath, "id \"\(id)\" is shared by images \(j) and \(i); ids must be unique")
            }
        }
        if let bscans, let sources {
            for (i, source) in sources.enumerated() {
                guard let g = bscans.first(where: { $0.volume == source.volume && $0.bscan == source.bscan }) else {
                    throw FileError(manifestPath, "image \(i) comes from \(source.volume) B-scan \(source.bscan), which has no geometry")
                }
                guard source.x >= 0, source.x + size <= g.rowOffsets.count else {
                    throw FileError(manifestPath, "image \(i) spans columns \(source.x)..<\(source.x + size), its B-scan geometry has \(g.rowOffsets.count)")
                }
            }
        }
    }

    // MARK: Files

    /// Reads and validates a patch set directory. `manifest.json` is optional (a
    /// directory holding just `images.npy` written from NumPy loads), but when
    /// present its format, count and size must agree with the arrays.
    public static func load(from directory: URL) throws -> PatchSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(directory, "no such patch set directory")
        }
        let imagesURL = directory.appendingPathComponent(imagesFile)
        let imageArray = try NPY.read(imagesURL)
        guard imageArray.type == .float32 || imageArray.type == .float64 else {
            throw FileError(imagesURL, "images must be float32, got \(imageArray.type.rawValue)")
        }
        var set = PatchSet(images: Tensor(shape: imageArray.shape, values: imageArray.floats()))

        let labelsURL = directory.appendingPathComponent(labelsFile)
        if FileManager.default.fileExists(atPath: labelsURL.path) {
            let array = try NPY.read(labelsURL)
            guard [.int64, .int32, .uint8].contains(array.type) else {
                throw FileError(labelsURL, "labels must be integers (int64), got \(array.type.rawValue)")
            }
            guard array.shape.count == 1 else { throw FileError(labelsURL, "labels must be one-dimensional, got shape \(array.shape)") }
            set.labels = integers(array)
        }
        let masksURL = directory.appendingPathComponent(masksFile)
        if FileManager.default.fileExists(atPath: masksURL.path) {
            let array = try NPY.read(masksURL)
            set.masks = Tensor(shape: array.shape, values: array.floats().map { $0 != 0 ? 1 : 0 })
        }
        try set.validate(directory: directory)
        let manifestURL = directory.appendingPathComponent(manifestFile)
        if FileManager.default.fileExists(atPath: manifestURL.path) {
            let manifest: Manifest
            do { manifest = try JSONDecoder().decode(Manifest.self, from: readFile(manifestURL)) } catch let error as FileError {
                throw error
            } catch {
                throw FileError(manifestURL, "not a valid patch set manifest: \(error)")
            }
            guard manifest.format == Manifest.currentFormat else {
                throw FileError(manifestURL, "format is \"\(manifest.format)\", expected \"\(Manifest.currentFormat)\"")
            }
            guard manifest.version == Manifest.currentVersion else { throw FileError(manifestURL, "unsupported patch set version \(manifest.version)") }
            guard manifest.count == set.count, manifest.size == set.size else {
                throw FileError(manifestURL, "manifest says \(manifest.count) patches of \(manifest.size)², \(imagesFile) has shape \(set.images.shape)")
            }
            set.settings = manifest.settings ?? [:]
            set.seed = manifest.seed
            set.sources = manifest.sources
            set.ids = manifest.ids ?? defaultIDs(count: set.count, sources: manifest.sources)
            set.bscans = manifest.bscans
            try set.validate(directory: directory)
        }
        return set
    }

    /// Writes the set (each file atomically). Optional files the set lacks are
    /// removed, so a stale `labels.npy` from an earlier set is never read back.
    public func save(to directory: URL) throws {
        try validate(directory: directory)
        try NPY.write(images, to: directory.appendingPathComponent(Self.imagesFile))
        let labelsURL = directory.appendingPathComponent(Self.labelsFile)
        if let labels {
            try NPY.write(NPYArray(int64: labels.map(Int64.init), shape: [labels.count]), to: labelsURL)
        } else {
            try removeIfPresent(labelsURL)
        }
        let masksURL = directory.appendingPathComponent(Self.masksFile)
        if let masks {
            try NPY.write(NPYArray(uint8: masks.buffer.map { $0 != 0 ? 1 : 0 }, shape: masks.shape), to: masksURL)
        } else {
            try removeIfPresent(masksURL)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).writeAtomically(to: directory.appendingPathComponent(Self.manifestFile))
    }

    /// Integer payloads read exactly (through Float, a huge int64 would trap).
    private static func integers(_ array: NPYArray) -> [Int] {
        let n = array.shape.reduce(1, *)
        return array.payload.withUnsafeBytes { raw in
            switch array.type {
            case .int64: return (0..<n).map { Int(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self).littleEndian) }
            case .int32: return (0..<n).map { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self).littleEndian) }
            default: return (0..<n).map { Int(raw[$0]) }
            }
        }
    }

    private func removeIfPresent(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        do { try FileManager.default.removeItem(at: url) } catch { throw FileError(url, "cannot remove stale file: \(error.localizedDescription)") }
    }
}
