// scan.html: a scan's page — per volume its en-face projection, the overlays
// of the B-scans with the largest regions, the table of marker candidates and
// a t-SNE of their D features. What the page draws is kept beside it as
// scan.json (a `Page`; the features are marker_features.npy's rows), so that
// `anogan report --scan DIR` draws the same content as a section of the
// evaluation report, with the pictures embedded.

import Evaluation
import Foundation
import Records
import Report

public enum ScanReport {
    /// What the page shows of one volume.
    public struct Volume: Codable, Sendable {
        public var name: String
        public var stem: String
        public var bscans: Int
        public var tiles: Int
        public var threshold: Float
        public var score: ScanScore
        /// B-scans of its largest regions, largest first (their overlays are shown).
        public var topBScans: [Int]
    }

    /// What the page says of how the scan was made (a shard records it, so that a merge draws the same page).
    public struct Settings: Codable, Equatable, Sendable {
        public var stride: Int?
        public var start: LatentStart
        public var steps: Int
        public var mapSigma: Double
        public var minimumRegionArea: Int
        /// The threshold in words (ScanThreshold's description).
        public var threshold: String
        public var tsne: TSNESettings

        public init(_ s: ScanSettings) {
            (stride, start, steps, mapSigma) = (s.stride, s.scoring.start, s.scoring.mapping.steps, s.mapSigma)
            (minimumRegionArea, threshold, tsne) = (s.minimumRegionArea, s.threshold.description, s.tsne)
        }
    }

    /// At most this many B-scans (those of the largest regions) per volume on scan.html.
    static let topBScansShown = 6
    /// At most this many regions in the table.
    static let tableRows = 100
    /// At most this many regions (the largest) in the t-SNE.
    static let tsnePoints = 1000

    static func fmt(_ v: Double?, _ digits: Int = 4) -> String { v.map { $0.isFinite ? String(format: "%.\(digits)g", $0) : "—" } ?? "—" }

    /// Everything the page draws: scan.json, plus the markers' features from marker_features.npy.
    public struct Page: Codable, Sendable {
        public var settings: Settings
        public var volumes: [Volume]
        /// Largest mass first, as markers.csv.
        public var markers: [ScanMarker]
        public var evaluation: ScanEvaluation?
    }

    /// scan.html: the page with its pictures as files beside it.
    public static func render(_ page: Page) throws -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>AnoGAN scan</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1400px; color: #222; padding: 0 16px; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        table { border-collapse: collapse; font-size: 13px; } th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; }
        th:first-child, td:first-child { text-align: left; } th { background: #f6f6f6; }
        .grid { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; } figcaption { font-size: 12px; color: #555; max-width: 520px; }
        img { max-width: 520px; image-rendering: pixelated; }
        </style></head><body>
        <h1>AnoGAN scan: anomaly maps and marker candidates</h1>

        """ + (try body(page, heading: 2) { $0 }) + "</body></html>\n"
    }

    /// The page's content under `<h\(heading)>` headings; `image` turns a picture's path in the
    /// scan directory into an img src (the path itself beside the files, a data URI in a report);
    /// `overlays`: at most this many B-scan overlays per volume (nil: every one the page lists).
    public static func body(_ page: Page, heading: Int, overlays: Int? = nil, image: (String) throws -> String) throws -> String {
        let (settings, volumes, markers) = (page.settings, page.volumes, page.markers)
        func section(_ title: String, _ body: String) -> String { "<h\(heading)>\(escape(title))</h\(heading)>\n\(body)\n" }
        var html = """
        <p>Tiles of the model's size every \(settings.stride.map { "\($0)" } ?? "half a tile's") px over the retina band (ILM…Bruch), scored from \
        \(settings.start == .encoder ? "E(x)" : "the prior") with Γ = \(settings.steps); \
        map = |x − x̂| averaged over overlapping tiles, smoothed with σ = \(settings.mapSigma) px, in the original geometry. \
        Threshold: \(escape(settings.threshold)); regions: 8-connected per B-scan, ≥ \(settings.minimumRegionArea) pixels.</p>

        """
        var rows = "<table><tr><th>volume</th><th>B-scans</th><th>tiles</th><th>map mean</th><th>map max</th><th>mean A of tiles</th><th>threshold</th><th>regions</th></tr>"
        for v in volumes {
            rows += "<tr><td>\(escape(v.name))</td><td>\(v.bscans)</td><td>\(v.tiles)</td><td>\(fmt(v.score.mapMean))</td><td>\(fmt(v.score.mapMax))</td>"
                + "<td>\(fmt(v.score.patchScoreMean))</td><td>\(fmt(Double(v.threshold)))</td><td>\(markers.filter { $0.volume == v.name }.count)</td></tr>"
        }
        html += section("Volumes", rows + "</table>")
        if let e = page.evaluation {
            var t = "<p>Pooled over whole B-scans inside the retina band: pixel AUROC <b>\(fmt(e.pixelAUROC))</b>, Dice <b>\(fmt(e.dice))</b>.</p>"
            t += "<table><tr><th>volume</th><th>pixel AUROC</th><th>Dice</th><th>threshold</th><th>annotated pixels</th><th>band pixels</th></tr>"
            for v in e.volumes {
                t += "<tr><td>\(escape(v.volume))</td><td>\(fmt(v.pixelAUROC))</td><td>\(fmt(v.dice))</td><td>\(fmt(Double(v.threshold)))</td>"
                    + "<td>\(v.annotatedPixels)</td><td>\(v.bandPixels)</td></tr>"
            }
            html += section("Evaluation against masks", t + "</table>")
        }
        for v in volumes {
            var body = "<div class=\"grid\"><figure><img src=\"\(escape(try image(ScanFiles.enFace(v.stem))))\" alt=\"en-face\">"
                + "<figcaption>En face: mean of the map over the retina band of each A-scan, stretched 1st–99th percentile; one band of rows per B-scan (top = first), one column per A-scan.</figcaption></figure>"
            for b in v.topBScans.prefix(overlays ?? v.topBScans.count) {
                let file = ScanFiles.overlays + "/" + ScanFiles.overlay(v.stem, bscan: b)
                body += "<figure><img src=\"\(escape(try image(file)))\" alt=\"B-scan \(b)\"><figcaption>B-scan \(b)</figcaption></figure>"
            }
            html += section("\(v.name): en face and the B-scans with the largest regions", body + "</div>")
        }
        var table = "<table><tr><th>rank</th><th>volume</th><th>B-scan</th><th>centroid x, y</th><th>box x</th><th>box y</th><th>area px</th><th>mean residual</th><th>max</th><th>tiles</th></tr>"
        for (k, r) in markers.prefix(tableRows).enumerated() {
            table += "<tr><td>\(k)</td><td>\(escape(r.volume))</td><td>\(r.bscan)</td><td>\(String(format: "%.1f, %.1f", r.centroidColumn, r.centroidRow))</td>"
                + "<td>\(r.minColumn)…\(r.maxColumn)</td><td>\(r.minRow)…\(r.maxRow)</td><td>\(r.area)</td><td>\(fmt(r.meanValue))</td><td>\(fmt(r.maxValue))</td><td>\(r.tiles)</td></tr>"
        }
        let more = markers.count > tableRows ? "<p>\(markers.count - tableRows) more in \(ScanFiles.markers).</p>" : ""
        html += section("Marker candidates (\(markers.count); largest mean × area first)", table + "</table>" + more)
        html += section("t-SNE of the regions' D features", try tsne(markers, volumes: volumes, settings: settings.tsne))
        return html
    }

    /// Writes scan.json and scan.html into `directory`, each atomically.
    static func write(_ page: Page, to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(page).writeAtomically(to: directory.appendingPathComponent(ScanFiles.page))
        try Data(try render(page).utf8).writeAtomically(to: directory.appendingPathComponent(ScanFiles.report))
    }

    /// Reads a scan directory's page back (scan.json, the markers' features from marker_features.npy)
    /// and checks that every picture it shows is there; errors name the file.
    public static func read(from directory: URL) throws -> Page {
        let url = directory.appendingPathComponent(ScanFiles.page)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FileError(url, "missing: not the output of `anogan scan` (or of a scan from before scan.json; scan again)")
        }
        var page: Page
        do { page = try JSONDecoder().decode(Page.self, from: Data(contentsOf: url)) } catch {
            throw FileError(url, "not a scan page: \(error)")
        }
        let featuresURL = directory.appendingPathComponent(ScanFiles.markerFeatures)
        let features = try NPY.readTensor(featuresURL)
        guard features.shape.count == 2, features.shape[0] == page.markers.count else {
            throw FileError(featuresURL, "holds \(features.shape) but \(ScanFiles.page) lists \(page.markers.count) marker(s)")
        }
        let width = features.shape[1], values = features.array
        for k in page.markers.indices { page.markers[k].features = Array(values[(k * width)..<((k + 1) * width)]) }
        for v in page.volumes {
            for file in [ScanFiles.enFace(v.stem)] + v.topBScans.map({ ScanFiles.overlays + "/" + ScanFiles.overlay(v.stem, bscan: $0) }) {
                let picture = directory.appendingPathComponent(file)
                guard FileManager.default.fileExists(atPath: picture.path) else { throw FileError(picture, "missing: the scan page shows it") }
            }
        }
        return page
    }

    static let colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]

    /// The regions' mean D features embedded in 2-D, one colour per volume (needs ≥ 5 regions with features).
    static func tsne(_ markers: [ScanMarker], volumes: [Volume], settings: TSNESettings) throws -> String {
        let usable = Array(markers.filter { $0.tiles > 0 }.prefix(tsnePoints))
        guard usable.count >= 5 else { return "<p>Fewer than 5 regions: no t-SNE.</p>" }
        var s = settings
        s.perplexity = min(s.perplexity, Double(usable.count - 1) / 3)
        s.exaggerationIterations = min(s.exaggerationIterations, s.iterations / 4)
        let y = try TSNE.embed(usable.map(\.features), settings: s)
        let groups = volumes.enumerated().map { k, v in
            PlotSeries(label: v.name, color: colours[k % colours.count],
                       data: usable.indices.filter { usable[$0].volume == v.name }.map { (y[2 * $0], y[2 * $0 + 1]) })
        }.filter { !$0.data.isEmpty }
        return SVGPlot.scatter(title: "regions", groups: groups)
    }
}

extension ScanReport {
    /// B-scan overlays per volume in the evaluation report (about 160 KB each at 496×512, embedded);
    /// scan.html beside the scan shows all of them.
    static let reportOverlays = 3

    /// The scan in `directory` as a section of the evaluation report (`anogan report --scan`):
    /// scan.html's content with its pictures embedded, so the report stays one file, and
    /// `reportOverlays` overlays per volume.
    public static func reportSection(of directory: URL) throws -> ReportSection {
        try reportSection(try read(from: directory), in: directory)
    }

    /// `page`, read from the scan in `directory`, as a section of the evaluation report.
    public static func reportSection(_ page: Page, in directory: URL) throws -> ReportSection {
        let html = try body(page, heading: 3, overlays: reportOverlays) { file in
            let url = directory.appendingPathComponent(file)
            do { return "data:image/png;base64," + (try Data(contentsOf: url)).base64EncodedString() } catch {
                throw FileError(url, "cannot be read: \(error.localizedDescription)")
            }
        }
        let more = "<p>The B-scans with the largest regions, at most \(reportOverlays) per volume; scan.html in that directory shows up to "
            + "\(topBScansShown) per volume, and overlays/ every B-scan.</p>\n"
        return ReportSection(title: "Whole B-scans: the scan in \(directory.path)", html: "<div class=\"scan\">\n\(html)\(more)</div>")
    }
}
