// libFuzzer target: the IDX reader (plain and gzipped) on arbitrary bytes. Every input must
// give a dataset or a typed IDXError: no trap, no overflow, no allocation sized by a header
// that the file does not back. Built by tools/fuzz with -sanitize=fuzzer,address.
import Foundation
import ZooData

private let path = FuzzScratch.file("fuzz-idx")

func fuzzIDX(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzScratch.write(bytes, count, to: path)
    // The first byte picks the reader; both see the whole input (a valid header is likeliest
    // when the mutator keeps the corpus's).
    let readers: [(String) throws -> Void] = [
        {
            let r = try IDX.readImages(path: $0); precondition(r.bytes.count == r.count * r.rows * r.cols)
        },
        {
            let labels = try IDX.readLabels(path: $0); precondition(labels.allSatisfy { $0 <= 9 })
        },
    ]
    do { try readers[count > 0 ? Int(bytes[0] & 1) : 0](path) } catch is IDXError {
    } catch { fatalError("IDX reader threw an untyped error: \(error)") }
    return 0
}
