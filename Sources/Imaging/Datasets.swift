// Data-set protocols that turn image collections into patch sets: the
// one-class protocol on IDX data (MNIST, Fashion-MNIST) and folders of PNG images.

import Foundation
import Records

/// One-class anomaly detection on an IDX data set: class `normalClass` is normal.
///
/// - train: the training split's images of the normal class (label 0);
/// - test: the whole test split, label 0 for the normal class and 1 for every other.
///
/// Pixels map from [0, 255] to [−1, 1]; each image is centred in an
/// `imageSize`×`imageSize` canvas filled with the background value −1 (28×28 → 32×32).
/// `sources` record the file (`volume`) and the image's index in it (`bscan`); x and y are 0.
/// Ids are "split file/index" with the canonical file name whatever variant was found
/// (`.gz`, `.idx`), e.g. "t10k-images-idx3-ubyte/17", so they do not change with compression.
public enum OneClassIDX {
    /// Looks in `directory` for `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (each optionally `.gz`, or
    /// with `.idx` instead of `-idx`). `trainLimit` / `testLimit` keep the first N
    /// images of each set (in file order; nil keeps all).
    public static func load(directory: URL, normalClass: Int, trainLimit: Int? = nil, testLimit: Int? = nil,
                            imageSize: Int = 32) throws -> (train: PatchSet, test: PatchSet) {
        guard normalClass >= 0 else { throw FileError(directory, "normal class \(normalClass) is negative") }
        let trainImagesURL = try find("train-images-idx3-ubyte", in: directory)
        let trainLabelsURL = try find("train-labels-idx1-ubyte", in: directory)
        let testImagesURL = try find("t10k-images-idx3-ubyte", in: directory)
        let testLabelsURL = try find("t10k-labels-idx1-ubyte", in: directory)

        let (trainImages, trainLabels) = try split(images: trainImagesURL, labels: trainLabelsURL)
        var trainIndices = trainLabels.values.indices.filter { Int(trainLabels.values[$0]) == normalClass }
        guard !trainIndices.isEmpty else {
            throw FileError(trainLabelsURL, "no training images of class \(normalClass) (classes present: \(Set(trainLabels.values).sorted()))")
        }
        if let trainLimit { trainIndices = Array(trainIndices.prefix(max(trainLimit, 0))) }
        guard !trainIndices.isEmpty else { throw FileError(trainImagesURL, "train limit \(trainLimit ?? 0) leaves no images") }

        let (testImages, testLabels) = try split(images: testImagesURL, labels: testLabelsURL)
        var testIndices = Array(testLabels.values.indices)
        if let testLimit { testIndices = Array(testIndices.prefix(max(testLimit, 0))) }
        guard !testIndices.isEmpty else { throw FileError(testImagesURL, "test limit \(testLimit ?? 0) leaves no images") }

        var settings = ["protocol": "one-class-idx", "normalClass": "\(normalClass)", "directory": directory.path,
                        "imageSize": "\(imageSize)"]
        settings["split"] = "train"
        let train = PatchSet(images: try canvas(trainImages, trainIndices, size: imageSize, path: trainImagesURL.path),
                             labels: Array(repeating: 0, count: trainIndices.count),
                             sources: trainIndices.map { PatchSource(volume: trainImagesURL.lastPathComponent, bscan: $0, x: 0, y: 0) },
                             ids: trainIndices.map { "train-images-idx3-ubyte/\($0)" },
                             settings: settings)
        settings["split"] = "test"
        let test = PatchSet(images: try canvas(testImages, testIndices, size: imageSize, path: testImagesURL.path),
                            labels: testIndices.map { Int(testLabels.values[$0]) == normalClass ? 0 : 1 },
                            sources: testIndices.map { PatchSource(volume: testImagesURL.lastPathComponent, bscan: $0, x: 0, y: 0) },
                            ids: testIndices.map { "t10k-images-idx3-ubyte/\($0)" },
                            settings: settings)
        return (train, test)
    }

    private static func find(_ name: String, in directory: URL) throws -> URL {
        let dotted = name.replacingOccurrences(of: "-idx", with: ".idx")
        for candidate in [name, name + ".gz", dotted, dotted + ".gz"] {
            let url = directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw FileError(directory, "no \(name) or \(name).gz in this directory")
    }

    /// Reads one split's images (N×rows×cols) and labels ([N]) and checks that they agree.
    private static func split(images: URL, labels: URL) throws -> (IDXArray, IDXArray) {
        let x = try IDX.read(images)
        guard x.shape.count == 3, x.shape[0] > 0 else { throw FileError(images, "expected images N×rows×cols, got shape \(x.shape)") }
        let y = try IDX.read(labels)
        guard y.shape.count == 1 else { throw FileError(labels, "expected labels [N], got shape \(y.shape)") }
        guard y.shape[0] == x.shape[0] else { throw FileError(labels, "\(y.shape[0]) labels for \(x.shape[0]) images in \(images.lastPathComponent)") }
        return (x, y)
    }

    /// Images `indices` mapped to [−1, 1] and centred on a −1 canvas: K×1×size×size.
    static func canvas(_ images: IDXArray, _ indices: [Int], size: Int, path: String) throws -> Tensor {
        let rows = images.shape[1], cols = images.shape[2]
        guard size >= rows, size >= cols else { throw FileError(path, "images are \(rows)×\(cols), larger than the \(size)×\(size) canvas") }
        let out = Tensor(shape: [indices.count, 1, size, size])
        for (k, i) in indices.enumerated() {
            let image = images.values[(i * rows * cols)..<((i + 1) * rows * cols)].map { Float($0) / 127.5 - 1 }
            let square = SquareFit.centre(image, width: cols, height: rows, on: size)
            (out.data + k * size * size).update(from: square, count: square.count)
        }
        return out
    }
}

/// Fitting an image of any size onto the S×S square a model takes. An image wider or taller
/// than S is shrunk, its aspect kept, by area averaging until its longer side is S; then it is
/// centred on an S×S canvas of the background value −1, as the one-class IDX protocol pads
/// 28×28 to 32×32. Smaller images are never enlarged: padding leaves their pixels as they are.
public enum SquareFit {
    /// `pixels` (row-major, `height`×`width`) fitted to `size`×`size`.
    public static func fit(_ pixels: [Float], width: Int, height: Int, to size: Int) -> [Float] {
        guard width > size || height > size else { return centre(pixels, width: width, height: height, on: size) }
        let longer = max(width, height)
        let w = max(1, (width * size + longer / 2) / longer), h = max(1, (height * size + longer / 2) / longer)
        return centre(shrink(pixels, width: width, height: height, toWidth: w, height: h), width: w, height: h, on: size)
    }

    /// `pixels` (`height`×`width`, both ≤ `size`) in the middle of a `size`×`size` canvas of −1.
    public static func centre(_ pixels: [Float], width: Int, height: Int, on size: Int) -> [Float] {
        precondition(width <= size && height <= size && pixels.count == width * height)
        var out = [Float](repeating: -1, count: size * size)
        let top = (size - height) / 2, left = (size - width) / 2
        for r in 0..<height {
            for c in 0..<width { out[(top + r) * size + left + c] = pixels[r * width + c] }
        }
        return out
    }

    /// Area averaging from `width`×`height` down to `w`×`h`: each output pixel is the mean of
    /// the input over its footprint, input pixels cut by a footprint's edge counting by the
    /// fraction inside it. Separable: rows first, then columns.
    static func shrink(_ pixels: [Float], width: Int, height: Int, toWidth w: Int, height h: Int) -> [Float] {
        let across = weights(from: width, to: w), down = weights(from: height, to: h)
        var rows = [Float](repeating: 0, count: height * w)
        for r in 0..<height {
            for (j, taps) in across.enumerated() {
                rows[r * w + j] = taps.reduce(0) { $0 + $1.weight * pixels[r * width + $1.index] }
            }
        }
        var out = [Float](repeating: 0, count: h * w)
        for (i, taps) in down.enumerated() {
            for c in 0..<w { out[i * w + c] = taps.reduce(0) { $0 + $1.weight * rows[$1.index * w + c] } }
        }
        return out
    }

    /// For each of `m` outputs over `n` ≥ `m` inputs: the inputs its footprint [j·n/m, (j+1)·n/m)
    /// overlaps, each weighted by the overlap over the footprint's length (the weights sum to 1).
    static func weights(from n: Int, to m: Int) -> [[(index: Int, weight: Float)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { j in
            let lo = Double(j) * scale, hi = Double(j + 1) * scale
            return (Int(lo.rounded(.down))..<min(n, Int(hi.rounded(.up)))).compactMap { i in
                let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                return overlap > 1e-12 ? (i, Float(overlap / scale)) : nil
            }
        }
    }
}

/// Folders of PNG images as data sets: one folder of normal images for training,
/// labelled folders for testing. Without an image size every image must be square and of
/// one size; with one, each image is fitted to it (`SquareFit`), whatever its size.
/// Colour is reduced to grey (Rec. 601 luma); 8-bit values are divided by 255,
/// 16-bit by 65535, then mapped to [−1, 1]. Files are taken in name order
/// (numbers compared numerically); only `*.png` files count.
/// `sources` hold each image's file as "folder/file" in `volume`; the other fields are 0.
/// Ids are those "folder/file" names.
public enum ImageFolder {
    /// Label for a folder's name on the command line: normal 0, anomalous/anomaly 1, unknown −1.
    public static func label(named name: String) -> Int? {
        switch name.lowercased() {
        case "normal", "0": 0
        case "anomalous", "anomaly", "abnormal", "1": 1
        case "unknown", "-1": -1
        default: nil
        }
    }

    /// The PNG files of a directory in name order (numbers compared numerically).
    public static func pngFiles(in directory: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(directory, "no such directory")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw FileError(directory, "cannot list directory: \(error.localizedDescription)")
        }
        return names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") }
            .sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }
            .map { directory.appendingPathComponent($0) }
    }

    /// Reads every PNG of `directory` into N×1×S×S in [−1, 1]; each image gets `label`.
    /// With `fitTo`, each image is fitted to that side (`SquareFit`). Otherwise `size` (when
    /// given) is the required side length, or the first image sets it.
    public static func read(directory: URL, label: Int?, size: Int? = nil, fitTo fitted: Int? = nil) throws -> PatchSet {
        let files = try pngFiles(in: directory)
        guard let first = files.first else { throw FileError(directory, "no .png images in this directory") }
        var side = fitted ?? size
        var values: [Float] = []
        for url in files {
            let image = try PNG.read(url)
            let grey = image.grayscale().map { $0 * 2 - 1 }
            if let fitted {
                values += SquareFit.fit(grey, width: image.width, height: image.height, to: fitted)
                continue
            }
            guard image.width == image.height else {
                throw FileError(url, "image is \(image.width)×\(image.height); images must be square (or give an image size to fit them to)")
            }
            if side == nil { side = image.width }
            guard image.width == side else {
                throw FileError(url, "image is \(image.width)×\(image.height), but \(size == nil ? first.lastPathComponent + " is" : "the data set's images are") \(side!)×\(side!)")
            }
            values += grey
        }
        let s = side!
        return PatchSet(images: Tensor(shape: [files.count, 1, s, s], values: values),
                        labels: label.map { Array(repeating: $0, count: files.count) },
                        sources: files.map { PatchSource(volume: directory.lastPathComponent + "/" + $0.lastPathComponent, bscan: 0, x: 0, y: 0) },
                        ids: files.map { directory.lastPathComponent + "/" + $0.lastPathComponent },
                        settings: ["protocol": "image-folder", "directory": directory.path])
    }

    /// The training set (normal folder, label 0) and the test set (the folders
    /// concatenated in order, each with its label). Without `imageSize` all images share
    /// one size; with it, every image is fitted to `imageSize`×`imageSize`.
    public static func load(train: URL, test: [(label: Int, directory: URL)], imageSize: Int? = nil) throws -> (train: PatchSet, test: PatchSet) {
        var trainSet = try read(directory: train, label: 0, fitTo: imageSize)
        guard !test.isEmpty else { throw FileError(train, "no test folders given") }
        let parts = try test.map { try read(directory: $0.directory, label: $0.label, size: trainSet.size, fitTo: imageSize) }
        var testSet = concatenate(parts)
        testSet.settings = ["protocol": "image-folder", "folders": test.map { "\($0.label)=\($0.directory.path)" }.joined(separator: ";")]
        if let imageSize {
            trainSet.settings["fittedTo"] = "\(imageSize)"
            testSet.settings["fittedTo"] = "\(imageSize)"
        }
        return (trainSet, testSet)
    }

    /// Sets of one image size joined in order (labels and sources kept when every part has them).
    static func concatenate(_ parts: [PatchSet]) -> PatchSet {
        let s = parts[0].size
        let total = parts.reduce(0) { $0 + $1.count }
        let images = Tensor(shape: [total, 1, s, s])
        var offset = 0
        for part in parts {
            (images.data + offset).update(from: part.images.data, count: part.images.count)
            offset += part.images.count
        }
        let labels = parts.allSatisfy { $0.labels != nil } ? parts.flatMap { $0.labels! } : nil
        let sources = parts.allSatisfy { $0.sources != nil } ? parts.flatMap { $0.sources! } : nil
        return PatchSet(images: images, labels: labels, sources: sources, ids: parts.flatMap(\.ids))
    }
}
