// The scan workflow end to end with stand-in detectors whose residual is known:
// a constant residual gives a constant map over the band (no seams, 0 outside);
// a blob planted in a phantom B-scan, found by a row-median "reconstruction"
// (flattened layers are horizontal, so each tile row's median reconstructs
// healthy tissue), is the top marker at the planted place in the original
// geometry; the map file has the input's size and spacing; bad input fails
// with one line naming the file or setting.

@testable import AnoGAN
import Evaluation
import Foundation
import Imaging
import NeuralNet
import Records
import TestSupport
@testable import Workflows
import XCTest

/// A detector whose reconstruction is a function of the query; features: [tile mean, tile index].
final class StandInScorer: Scorer {
    let config: DCGANConfig
    let recordedSettings = ScoringSettings(start: .encoder)
    let workUnit = "img"
    let reconstruct: (Tensor) -> Tensor

    init(imageSize: Int, reconstruct: @escaping (Tensor) -> Tensor) {
        config = DCGANConfig(latentDimension: 4, imageSize: imageSize, width: 2)
        self.reconstruct = reconstruct
    }

    func work(imageCount: Int) -> Int { imageCount }

    func score(_ input: ImageInput, onProgress: (ScorerProgress) -> Void) throws -> DetectionResult {
        let x̂ = reconstruct(input.images)
        let n = input.count, item = input.images.itemCount
        var rows: [ScoreRow] = [], features: [Float] = []
        for i in 0..<n {
            var r = 0.0, mean = 0.0
            for k in 0..<item { r += Double(abs(input.images.data[i * item + k] - x̂.data[i * item + k])); mean += Double(input.images.data[i * item + k]) }
            rows.append(ScoreRow(id: input.ids[i], label: input.labels[i], residual: r, discrimination: 0, anomaly: r,
                                 referenceResidual: nil, referenceDiscrimination: nil, referenceAnomaly: nil, discriminatorProbability: 0.5))
            features += [Float(mean / Double(item)), Float(i)]
        }
        onProgress(ScorerProgress(done: n, total: n, detail: "stand-in"))
        return DetectionResult(rows: rows, columns: ["R", "D", "A", "P_D"], reconstructions: x̂, reconstructionsFrom: "stand-in",
                               queryFeatures: Tensor(shape: [n, 2], values: features), latents: nil, lossTraces: [], seconds: 0)
    }

    /// x − c: the residual is c everywhere.
    static func constant(_ c: Float, imageSize: Int) -> StandInScorer {
        StandInScorer(imageSize: imageSize) { x in Tensor(shape: x.shape, values: x.array.map { $0 - c }) }
    }

    /// Each tile row replaced by its median.
    static func rowMedian(imageSize s: Int) -> StandInScorer {
        StandInScorer(imageSize: s) { x in
            let out = x.copy()
            for row in 0..<(x.count / s) {
                let median = (0..<s).map { x.data[row * s + $0] }.sorted()[s / 2]
                for c in 0..<s { out.data[row * s + c] = median }
            }
            return out
        }
    }
}

final class ScanTests: TemporaryDirectoryTestCase {
    let checkpoint = URL(fileURLWithPath: "/stand-in/checkpoint.safetensors")

    /// Writes a phantom volume (resampled 11.7 → 22 µm, curved retina) and returns its source and data.
    func phantom(name: String, bscans: Int = 2, width: Int = 512, height: Int = 300, diseased: Bool = false,
                 seed: UInt64 = 11, edit: (inout Volume, OCTPhantomVolume) -> Void = { _, _ in }) throws -> (OCTSource, Volume, OCTPhantomVolume) {
        let p = OCTPhantom.generate(OCTPhantomSettings(width: width, height: height, bscans: bscans, spacingZ: 3.87 * 496 / Double(height),
                                                       diseased: diseased), seed: seed)
        var v = p.volume
        edit(&v, p)
        let url = dir.appendingPathComponent(name + ".mha")
        try MetaImage.write(v, to: url, elementType: .uchar)
        var mask: URL?
        if diseased {
            mask = dir.appendingPathComponent(name + "_mask.mha")
            try MetaImage.write(p.maskVolume, to: mask!, elementType: .uchar)
        }
        return (OCTSource(name: name + ".mha", kind: .metaImage, scan: url, mask: mask), v, p)
    }

    func testConstantResidualGivesAConstantMapOverTheBandAndZeroOutside() throws {
        let (source, volume, _) = try phantom(name: "flat")
        var settings = ScanSettings()
        settings.stride = 12
        settings.writePatchRun = false
        let scorer = StandInScorer.constant(0.25, imageSize: 32)
        let m = try mapVolume(source, scorer: scorer, settings: settings, checkpoint: checkpoint, encoderCheckpoint: nil,
                              patchDirectory: nil, runDirectory: nil)
        XCTAssertEqual(m.map.count, volume.voxels.count)
        let inside = m.band.filter { $0 }.count
        XCTAssertGreaterThan(inside, volume.depth * volume.width * 30, "a retina band of tens of rows")
        XCTAssertLessThan(inside, volume.voxels.count / 2)
        for i in m.map.indices {
            if m.band[i] {
                XCTAssertEqual(m.map[i], 0.25, accuracy: 1e-5, "band voxel \(i): no seams, no fading at the tiles' edge")
            } else {
                XCTAssertEqual(m.map[i], 0, "outside the band voxel \(i)")
            }
        }
        // The tiles are the model's size and carry stable ids.
        XCTAssertEqual(m.tiles.size, 32)
        XCTAssertEqual(m.tiles.ids.first, m.tiles.sources.map { "flat.mha/0/\($0[0].x)/\($0[0].y)" })
    }

    /// Scans `source` with the row-median stand-in, 32² tiles every 16 px, regions of ≥ 10 pixels.
    func scanWithRowMedian(_ source: OCTSource, to out: URL) throws -> ScanResult {
        var settings = ScanSettings()
        settings.stride = 16
        settings.minimumRegionArea = 10
        return try scanVolumes([source], scorer: StandInScorer.rowMedian(imageSize: 32), settings: settings, checkpoint: checkpoint,
                               output: out, log: { _ in })
    }

    /// scan.json holds everything scan.html draws: read back with the features, it redraws the page
    /// byte for byte, and the report's section embeds the scan's own pictures; a directory that
    /// is not a whole scan is refused naming the file.
    func testTheScanPageReadsBackAndBecomesAReportSectionWithItsPicturesEmbedded() throws {
        let (source, _, _) = try phantom(name: "d", bscans: 5, diseased: true)
        let out = dir.appendingPathComponent("scan")
        let result = try scanWithRowMedian(source, to: out)
        let page = try ScanReport.read(from: out)
        XCTAssertEqual(page.volumes.map(\.name), ["d.mha"])
        XCTAssertEqual(page.markers.count, result.markers.count)
        XCTAssertGreaterThan(page.markers.count, 1)
        XCTAssertEqual(page.markers.map(\.features), result.markers.map(\.features), "features from marker_features.npy, in rank order")
        XCTAssertEqual(page.markers.map(\.area), result.markers.map(\.region.area))
        XCTAssertEqual(page.evaluation?.pixelAUROC, result.evaluation?.pixelAUROC)
        XCTAssertNotNil(page.evaluation?.pixelAUROC)
        XCTAssertEqual(try ScanReport.render(page), try String(contentsOf: out.appendingPathComponent(ScanFiles.report), encoding: .utf8))

        let section = try ScanReport.reportSection(of: out)
        XCTAssertTrue(section.title.contains(out.path))
        let enFace = try Data(contentsOf: out.appendingPathComponent(ScanFiles.enFace("d"))).base64EncodedString()
        XCTAssertTrue(section.html.contains("src=\"data:image/png;base64,\(enFace)\""), "the en-face picture itself")
        XCTAssertGreaterThan(page.volumes[0].topBScans.count, ScanReport.reportOverlays, "scan.html shows more than the report")
        let shown = ScanReport.reportOverlays
        XCTAssertEqual(section.html.components(separatedBy: "<img ").count - 1, 1 + shown)
        for b in page.volumes[0].topBScans.prefix(shown) {
            let overlay = try Data(contentsOf: out.appendingPathComponent("overlays/" + ScanFiles.overlay("d", bscan: b))).base64EncodedString()
            XCTAssertTrue(section.html.contains(overlay), "overlay of B-scan \(b)")
        }
        XCTAssertFalse(section.html.contains("src=\"overlays/"), "no picture is a link to a file")
        XCTAssertTrue(section.html.contains("Marker candidates (\(page.markers.count);") && section.html.contains("<svg"), "the table and the t-SNE")

        // Not a whole scan: features of another marker count, a picture gone, no scan.json.
        let features = out.appendingPathComponent(ScanFiles.markerFeatures)
        let saved = try Data(contentsOf: features)
        try NPY.write(Tensor(shape: [page.markers.count - 1, 2]), to: features)
        XCTAssertThrowsError(try ScanReport.read(from: out)) {
            XCTAssertEqual("\($0)", "\(features.path): holds [\(page.markers.count - 1), 2] but scan.json lists \(page.markers.count) marker(s)")
        }
        try saved.write(to: features)
        let overlay = out.appendingPathComponent("overlays/" + ScanFiles.overlay("d", bscan: page.volumes[0].topBScans[0]))
        try FileManager.default.removeItem(at: overlay)
        XCTAssertThrowsError(try ScanReport.reportSection(of: out)) { XCTAssertEqual("\($0)", "\(overlay.path): missing: the scan page shows it") }
        try FileManager.default.removeItem(at: out.appendingPathComponent(ScanFiles.page))
        XCTAssertThrowsError(try ScanReport.read(from: out)) {
            XCTAssertTrue("\($0)".hasPrefix(out.appendingPathComponent("scan.json").path + ": missing: not the output of `anogan scan`"), "\($0)")
        }
    }

    func testPlantedBlobIsTheTopMarkerAtItsPlaceInTheOriginalGeometry() throws {
        // A bright blob, 190 µm wide and 150 µm deep, half way between ILM and Bruch of B-scan 1, away
        // from the fovea (whose curved pit the row median does not reconstruct either).
        let plantedColumn = 130, b = 1
        var plantedRow = 0
        let (source, volume, _) = try phantom(name: "blob") { v, p in
            let bounds = p.boundaries[b]
            plantedRow = Int(((bounds.ilm[plantedColumn] + bounds.bruch[plantedColumn]) / 2).rounded())
            for r in (plantedRow - 12)...(plantedRow + 12) {
                for c in (plantedColumn - 8)...(plantedColumn + 8) {
                    let dr = Double(r - plantedRow) / 12, dc = Double(c - plantedColumn) / 8
                    if dr * dr + dc * dc <= 1 { v[c, r, b] = 255 }
                }
            }
        }
        let out = dir.appendingPathComponent("scan")
        let result = try scanWithRowMedian(source, to: out)
        let top = try XCTUnwrap(result.markers.first)
        XCTAssertEqual(top.bscan, b)
        XCTAssertEqual(top.region.centroidColumn, Double(plantedColumn), accuracy: 3, "column in original pixels")
        XCTAssertEqual(top.region.centroidRow, Double(plantedRow), accuracy: 3, "row in original pixels (flattening undone)")
        XCTAssertTrue(top.region.minColumn <= plantedColumn && plantedColumn <= top.region.maxColumn)
        if result.markers.count > 1 { XCTAssertGreaterThan(top.region.mass, 1.5 * result.markers[1].region.mass, "clearly the top") }
        // Its features are the mean of the tiles it overlaps (feature 1 = tile index in the volume's set).
        let run = try NamedScoreRun.load(name: "run", directory: out.appendingPathComponent("runs/blob"))
        let ids = run.scores.ids
        let indices = top.tiles.map { ids.firstIndex(of: $0)! }
        XCTAssertFalse(indices.isEmpty)
        XCTAssertEqual(Double(top.features[1]), Double(indices.reduce(0, +)) / Double(indices.count), accuracy: 1e-3)
        let features = try NPY.readTensor(out.appendingPathComponent(ScanFiles.markerFeatures))
        XCTAssertEqual(features.shape, [result.markers.count, 2])
        XCTAssertEqual(Array(features.array.prefix(2)), top.features)

        // The map file overlays the scan: the input's size and spacing; its maximum is at the blob.
        let map = try MetaImage.read(out.appendingPathComponent(ScanFiles.anomalyMap("blob")))
        XCTAssertEqual([map.width, map.height, map.depth], [volume.width, volume.height, volume.depth])
        XCTAssertEqual(map.spacing, volume.spacing)
        let peak = map.voxels.indices.max { map.voxels[$0] < map.voxels[$1] }!
        XCTAssertEqual(peak / volume.sliceCount, b)
        XCTAssertEqual(Double(peak % volume.width), Double(plantedColumn), accuracy: 6)
        XCTAssertEqual(Double((peak % volume.sliceCount) / volume.width), Double(plantedRow), accuracy: 6)

        // The other files.
        let fm = FileManager.default
        for name in [ScanFiles.scores, ScanFiles.markers, ScanFiles.report, ScanFiles.enFace("blob"), "overlays/blob_bscan000.png",
                     "overlays/blob_bscan001.png", "patches/blob/images.npy", "runs/blob/scores.csv"] {
            XCTAssertTrue(fm.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        XCTAssertFalse(fm.fileExists(atPath: out.appendingPathComponent(ScanFiles.evaluation).path), "no masks, no evaluation")
        let scores = try String(contentsOf: out.appendingPathComponent(ScanFiles.scores), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(scores.count, 1 + volume.depth + 1, "header, one row per B-scan, one for the volume")
        XCTAssertTrue(scores.last!.hasPrefix("blob.mha,all,"))
        let markers = try String(contentsOf: out.appendingPathComponent(ScanFiles.markers), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(markers.count, 1 + result.markers.count)
        XCTAssertTrue(markers[1].hasPrefix("0,blob.mha,\(b),"), String(markers[1]))
        let overlay = try PNG.read(out.appendingPathComponent("overlays/blob_bscan001.png"))
        XCTAssertEqual([overlay.width, overlay.height, overlay.channels], [volume.width, volume.height, 3])
        let enFace = try PNG.read(out.appendingPathComponent(ScanFiles.enFace("blob")))
        XCTAssertEqual(enFace.width, volume.width)
        XCTAssertEqual(enFace.height % volume.depth, 0, "a band of rows per B-scan")
    }

    func testMasksGiveEvaluationInsideTheBand() throws {
        let (source, _, _) = try phantom(name: "sick", diseased: true, seed: 4)
        var settings = ScanSettings()
        settings.stride = 16
        settings.writePatchRun = false
        settings.threshold = .value(0.1)
        settings.preparation.preprocessing.annotatedClasses = [1, 2]
        let out = dir.appendingPathComponent("scan")
        // The row median again: fluid is dark in bright tissue, so it stands out.
        let result = try scanVolumes([source], scorer: StandInScorer.rowMedian(imageSize: 32), settings: settings, checkpoint: checkpoint,
                                     output: out, log: { _ in })
        let e = try XCTUnwrap(result.evaluation)
        let auroc = try XCTUnwrap(e.pixelAUROC)
        XCTAssertTrue(auroc > 0.5 && auroc <= 1, "\(auroc)")
        XCTAssertEqual(e.volumes.count, 1)
        XCTAssertGreaterThan(e.volumes[0].annotatedPixels, 0)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(ScanFiles.evaluation))) as? [String: Any]
        XCTAssertEqual(json?["pixelAUROC"] as? Double ?? -1, auroc, accuracy: 1e-12)
        XCTAssertTrue(result.markers.allSatisfy { $0.threshold == 0.1 })
    }

    func testBadInputFailsWithOneLineNamingTheProblem() throws {
        let (source, _, _) = try phantom(name: "v", bscans: 1, width: 128, height: 128)
        let scorer = StandInScorer.constant(0.1, imageSize: 16)
        func failure(_ settings: ScanSettings, _ sources: [OCTSource]) -> String {
            do {
                try scanVolumes(sources, scorer: scorer, settings: settings, checkpoint: checkpoint, output: dir.appendingPathComponent("o"), log: { _ in })
                return "no error"
            } catch { return "\(error)" }
        }
        var settings = ScanSettings()
        settings.stride = 0
        XCTAssertTrue(failure(settings, [source]).contains("stride"), failure(settings, [source]))
        settings.stride = 17
        XCTAssertTrue(failure(settings, [source]).contains("stride 17 exceeds the model's 16-pixel tiles"), failure(settings, [source]))
        settings.stride = 8
        let missing = OCTSource(name: "gone.mha", kind: .metaImage, scan: dir.appendingPathComponent("gone.mha"), mask: nil)
        let message = failure(settings, [missing])
        XCTAssertTrue(message.contains("gone.mha"), message)
        XCTAssertFalse(message.contains("\n"), message)
        // A mask of another size.
        let wrong = dir.appendingPathComponent("wrong_mask.mha")
        try MetaImage.write(Volume(width: 64, height: 128, depth: 1, voxels: [Float](repeating: 0, count: 64 * 128)), to: wrong)
        var masked = source
        masked.mask = wrong
        let mismatch = failure(settings, [masked])
        XCTAssertTrue(mismatch.contains("wrong_mask.mha") && mismatch.contains("64×128×1") && mismatch.contains("128×128×1"), mismatch)
        XCTAssertFalse(mismatch.contains("\n"), mismatch)
    }

    func testThresholdFromALabelledRunIsYoudensCutOffOfItsSmoothedPixels() throws {
        let run = try SyntheticRun.make(in: dir, name: "labelled", count: 6, size: 16, seed: 2)
        let cut = try youdenThreshold(ofRun: run.directory, sigma: 1)
        let maps = AnomalyMap.smoothed(Tensor(shape: [6, 1, 16, 16], values: run.residuals), sigma: 1).array
        let curve = try ROCCurve(scores: maps.map(Double.init), labels: run.masks.map { $0 != 0 })
        XCTAssertEqual(Double(cut), curve.youden.threshold, accuracy: 1e-6)
    }

    func testThresholdFromANormalVolumeIsThePercentileOfItsBand() throws {
        let (normal, _, _) = try phantom(name: "normal", bscans: 1, width: 256, height: 200)
        let (query, _, _) = try phantom(name: "query", bscans: 1, width: 256, height: 200, seed: 12)
        var settings = ScanSettings()
        settings.threshold = .percentileOfNormal([normal], 50)
        settings.writePatchRun = false
        let result = try scanVolumes([query], scorer: StandInScorer.constant(0.25, imageSize: 32), settings: settings, checkpoint: checkpoint,
                                     output: dir.appendingPathComponent("o"), log: { _ in })
        // The normal map is 0.25 over its band, so is its median; the query's band is one region at that threshold.
        XCTAssertEqual(result.markers.count, 1)
        XCTAssertEqual(result.markers.first?.threshold ?? 0, 0.25, accuracy: 1e-5)
    }

    func testTheMapKeepsTheInputsPlacementInSpace() throws {
        let (source, volume, _) = try phantom(name: "placed", bscans: 1, width: 256, height: 200)
        try MetaImage.write(volume, to: source.scan, elementType: .uchar,
                            extraFields: [("Offset", "1.5 -2 3"), ("TransformMatrix", "1 0 0 0 1 0 0 0 1")])
        var settings = ScanSettings()
        settings.writePatchRun = false
        let out = dir.appendingPathComponent("o")
        try scanVolumes([source], scorer: StandInScorer.constant(0.1, imageSize: 32), settings: settings, checkpoint: checkpoint,
                        output: out, log: { _ in })
        let url = out.appendingPathComponent(ScanFiles.anomalyMap("placed"))
        let header = String(decoding: try Data(contentsOf: url).prefix(500), as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertTrue(header.contains("Offset = 1.5 -2 3"), "\(header)")
        XCTAssertTrue(header.contains("TransformMatrix = 1 0 0 0 1 0 0 0 1"), "\(header)")
        let map = try MetaImage.read(url)
        XCTAssertEqual([map.width, map.height, map.depth], [256, 200, 1])
        XCTAssertEqual(map.spacing, volume.spacing)
    }
}
