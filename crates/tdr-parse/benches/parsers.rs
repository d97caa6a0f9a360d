//! Parse-only throughput per format: framing plus parsing of a corpus made by repeating the
//! format's richest clean golden input (the one yielding the most events with no rejected
//! record, if there is one; a header line kept once) to about 8 MiB. Reported per record (frame) and, from the corpus size printed with each
//! benchmark's name, per byte; for ipfix, whose frames are messages of many records, per
//! event (one per data record, a `Seen` at most once per time and message). One thread: the
//! figures are per core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tdr_parse::framing::{Frame, Framer, Framing, Step, DEFAULT_MAX_FRAME};
use tdr_parse::{parse_all, parser, Format};

#[path = "../tests/testdata/mod.rs"]
mod testdata;

const CORPUS_BYTES: usize = 8 << 20;

fn corpus(format: Format) -> Option<(Vec<u8>, tdr_parse::Context)> {
    // Ranked by (clean, events): a clean input beats any with rejected records.
    let mut best: Option<((bool, usize), Vec<u8>, tdr_parse::Context)> = None;
    for input in testdata::inputs(format) {
        let ctx = testdata::context(&input);
        let bytes = std::fs::read(&input).ok()?;
        let (events, errors) = parse_all(format, &ctx, &bytes).ok()?;
        let rank = (errors.is_empty(), events.len());
        if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
            best = Some((rank, bytes, ctx));
        }
    }
    let (_, mut bytes, ctx) = best?;
    // Binary messages are cut by their length: a byte appended would be a message's start.
    let binary = format.framing() == Framing::Ipfix;
    if !binary && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    if format == Format::RadiusDetail && !bytes.ends_with(b"\n\n") {
        bytes.push(b'\n');
    }
    let (head, body) = if format.has_header() {
        let nl = bytes.iter().position(|&b| b == b'\n')? + 1;
        (bytes[..nl].to_vec(), bytes[nl..].to_vec())
    } else {
        (Vec::new(), bytes)
    };
    let mut out = head;
    while out.len() < CORPUS_BYTES {
        out.extend_from_slice(&body);
    }
    Some((out, ctx))
}

/// Frames and parses the whole corpus the way the importer's reader does; returns (frames,
/// events, errors).
fn run(format: Format, ctx: &tdr_parse::Context, buf: &[u8]) -> (usize, usize, usize) {
    let mut p = parser(format, ctx).expect("parser");
    let mut framer = Framer::new(format.framing(), DEFAULT_MAX_FRAME);
    let mut events = Vec::with_capacity(4096);
    let (mut frames, mut n_events, mut errors) = (0, 0, 0);
    let mut pos = 0;
    loop {
        match framer.next(buf, pos) {
            Step::Frame { next, frame, .. } => {
                pos = next;
                frames += 1;
                if let Frame::Data(d) = frame {
                    if p.parse(d, &mut events).is_err() {
                        errors += 1;
                    }
                }
                if events.len() >= 4096 {
                    n_events += events.len();
                    events.clear();
                }
            }
            Step::Skip { next } => pos = next,
            Step::NeedMore => break,
        }
    }
    (frames, n_events + events.len(), errors)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.sample_size(10);
    for format in Format::ALL {
        let Some((buf, ctx)) = corpus(format) else {
            eprintln!("{}: no golden input, skipped", format.name());
            continue;
        };
        let (frames, events, errors) = run(format, &ctx, &buf);
        eprintln!(
            "{}: corpus {} bytes, {frames} records, {events} events, {errors} rejected",
            format.name(),
            buf.len()
        );
        let records = if format.framing() == Framing::Ipfix {
            events
        } else {
            frames
        };
        g.throughput(Throughput::Elements(records as u64));
        g.bench_function(format!("{}/{}B", format.name(), buf.len()), |b| {
            b.iter(|| black_box(run(format, &ctx, black_box(&buf))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
