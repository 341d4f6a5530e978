// The `anogan` command: a thin shell over the libraries. Each subcommand is a
// stage of the pipeline; it parses flags and delegates.
import ArgumentParser
import NeuralNet
import Records

@main
struct Anogan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anogan",
        abstract: "Unsupervised anomaly detection with GANs (AnoGAN, Schlegl et al. 2017).",
        version: "anogan 0.1 (oneDNN \(Threads.oneDNNVersion))",
        subcommands: [
            PhantomCommand.self, PrepareCommand.self, TrainCommand.self, TrainEncoderCommand.self, TrainACAECommand.self, ScoreCommand.self,
            ScanCommand.self, MergeCommand.self, EvaluateCommand.self, ReportCommand.self, DemoCommand.self, OneClassCommand.self, SpeedCommand.self,
        ])
}
