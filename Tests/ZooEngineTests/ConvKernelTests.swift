import CConvKernels
import XCTest

@testable import ZooEngine

/// The C im2col and col2im (AVX-512 or AVX2 rows where the CPU has them, and the plain C
/// loops: every level this CPU runs) against the Swift loops, on
/// geometries that take each of its paths: stride 1 and 2 rows of up to 16 and 8 values,
/// longer rows, stride 3, odd sizes and asymmetric padding, columns with a row stride and
/// a sample offset.
final class ConvKernelTests: XCTestCase {
    /// Runs body at every vector level this CPU has (plain C loops included), then lifts the cap.
    func atEveryLevel(_ body: (Int32) -> Void) { atEveryKernelLevel(body) }

    func testCCol2imEqualsPortable() {
        atEveryLevel { level in
            for g in Self.geometries {
                let samples = 3, p = g.positions, ld = samples * p + 5
                let cols = randomTensor([g.patch * ld], seed: UInt64(g.patch + p))
                let size = g.channels * g.height * g.width
                for s in 0..<samples {
                    let fast = Tensor(shape: [size]), reference = Tensor(shape: [size])
                    g.col2im(cols.data, ld: ld, offset: s * p + 2, fast.data)
                    g.col2imPortable(cols.data, ld: ld, offset: s * p + 2, reference.data)
                    XCTAssertEqual(
                        fast.array.map(\.bitPattern), reference.array.map(\.bitPattern),
                        "\(g), sample \(s), level \(level)")
                }
            }
        }
    }

    /// Columns start as NaN, so an entry either kernel leaves unwritten shows; the padding
    /// beyond each sample's columns must stay untouched.
    func testCIm2colEqualsPortable() {
        atEveryLevel { level in
            for g in Self.geometries {
                let samples = 2, p = g.positions, ld = samples * p + 5
                let image = randomTensor([g.channels * g.height * g.width], seed: UInt64(g.channels + p))
                let fast = Tensor(shape: [g.patch * ld], repeating: .nan),
                    reference = Tensor(shape: [g.patch * ld], repeating: .nan)
                for s in 0..<samples {
                    g.im2col(image.data, fast.data, ld: ld, offset: s * p + 2)
                    g.im2colPortable(image.data, reference.data, ld: ld, offset: s * p + 2)
                }
                XCTAssertEqual(fast.array.map(\.bitPattern), reference.array.map(\.bitPattern), "\(g), level \(level)")
            }
        }
    }

    static let geometries: [ConvGeometry] = [
        // DCGAN deconv1
        ConvGeometry(channels: 128, height: 7, width: 7, kernel: 5, stride: 1, outHeight: 7, outWidth: 7),
        ConvGeometry(channels: 64, height: 14, width: 14, kernel: 5, stride: 2, outHeight: 7, outWidth: 7),  // deconv2
        ConvGeometry(channels: 1, height: 28, width: 28, kernel: 5, stride: 2, outHeight: 14, outWidth: 14),  // deconv3
        .same(channels: 3, height: 28, width: 28, kernel: 5, stride: 2),
        .same(channels: 2, height: 40, width: 37, kernel: 3, stride: 1),  // rows longer than 16
        .same(channels: 2, height: 11, width: 9, kernel: 4, stride: 3),
        .same(channels: 3, height: 5, width: 6, kernel: 5, stride: 1),
        .same(channels: 2, height: 33, width: 33, kernel: 5, stride: 2),  // 17 outputs a row: wider than a vector
        .same(channels: 64, height: 14, width: 14, kernel: 5, stride: 2),  // D conv2
        .same(channels: 1, height: 4, width: 300, kernel: 3, stride: 1),  // 38 segments of 8: past the AVX2 tables
        .same(channels: 2, height: 6, width: 8, kernel: 17, stride: 1),  // more taps than the tables hold
    ]
}
