//! One RESP connection: read, parse every whole request in the buffer,
//! execute, write the replies (pipelining), with the memory bounds below.
//!
//! Memory per connection is bounded by:
//! - the query buffer: at most `max_query_buffer` bytes of requests not yet
//!   executed (and each bulk string at most `max_bulk`, refused from its
//!   length line before its bytes arrive); past it the connection is closed;
//! - the reply buffer: replies are written out whenever 64 KiB have built up,
//!   and the connection stops reading while a write is pending, so a client
//!   that never reads holds at most 64 KiB plus one reply, plus the kernel's
//!   socket buffers, and is closed after `write_timeout`; one reply larger
//!   than `max_output` closes the connection;
//! - the store scratch buffer: one slot (grown for a value in the heap,
//!   shrunk back past 1 MiB after the command: `commands::shrink_scratch`);
//!   a `SCAN` reply is built whole before it is added, and stops at 16 MiB
//!   of keys (`commands::SCAN_MAX_BYTES`), a `KEYS` reply at 64 MiB.
//!
//! So the server's memory is bounded by `maxclients` times those.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::commands::{execute, Session, Shared};
use crate::reply;
use crate::resp::{self, Parsed};

/// Per-connection bounds (see the module docs).
#[derive(Clone, Debug)]
pub struct ConnLimits {
    pub proto: resp::Limits,
    pub max_query_buffer: usize,
    pub max_output: usize,
    pub idle_timeout: Option<Duration>,
    pub write_timeout: Duration,
}

const FLUSH_AT: usize = 64 << 10;
const READ_CHUNK: usize = 16 << 10;
/// The first read of a connection takes at most this many bytes, so that
/// clients that connect and stay idle cost little.
const FIRST_READ: usize = 1024;

/// Why a connection ended (for logs and tests).
#[derive(Debug)]
enum End {
    Closed,
    Quit,
    Protocol,
    Limit(&'static str),
    Io,
}

/// Serves one connection until it closes or breaks a limit.
pub async fn serve(sock: TcpStream, sh: Arc<Shared>, lim: Arc<ConnLimits>) {
    sh.stats.connected.fetch_add(1, Ordering::Relaxed);
    sh.stats.total_connections.fetch_add(1, Ordering::Relaxed);
    let mut s = Session::new(&sh);
    let end = run(sock, &sh, &lim, &mut s).await;
    s.local.merge(&sh.stats);
    sh.stats.connected.fetch_sub(1, Ordering::Relaxed);
    if let End::Limit(why) = end {
        eprintln!("maph-server: closed client {}: {why}", s.id);
    }
}

async fn write_out(sock: &mut TcpStream, out: &mut Vec<u8>, lim: &ConnLimits) -> Result<(), End> {
    if out.is_empty() {
        return Ok(());
    }
    match timeout(lim.write_timeout, sock.write_all(out)).await {
        Ok(Ok(())) => {
            out.clear();
            if out.capacity() > 4 * FLUSH_AT {
                out.shrink_to(FLUSH_AT);
            }
            Ok(())
        }
        Ok(Err(_)) => Err(End::Io),
        Err(_) => Err(End::Limit("client did not read its replies within the write timeout")),
    }
}

async fn run(mut sock: TcpStream, sh: &Shared, lim: &ConnLimits, s: &mut Session) -> End {
    let _ = sock.set_nodelay(true);
    // Both start empty: an idle client costs no buffer (see `FIRST_READ`).
    let mut buf: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    // A pending multibulk request's parse state (the request stays at the
    // start of `buf`, and `ranges` holds its arguments so far).
    let mut resume = resp::Resume::default();
    let mut need = 0usize;
    loop {
        // Execute every whole request in the buffer.
        let mut start = 0;
        if buf.len() >= need {
            let mut args: Vec<&[u8]> = Vec::with_capacity(8);
            loop {
                let rest = &buf[start..];
                match resp::parse_resumable(rest, &lim.proto, &mut ranges, &mut resume) {
                    Ok(Parsed::Frame { len }) => {
                        if !ranges.is_empty() {
                            args.clear();
                            args.extend(ranges.iter().map(|r| &rest[r.clone()]));
                            execute(sh, s, &args, &mut out);
                            args.clear();
                        }
                        start += len;
                        if out.len() > lim.max_output {
                            return End::Limit("reply larger than the output buffer limit");
                        }
                        if s.quit {
                            let _ = write_out(&mut sock, &mut out, lim).await;
                            return End::Quit;
                        }
                        if out.len() >= FLUSH_AT {
                            if let Err(e) = write_out(&mut sock, &mut out, lim).await {
                                return e;
                            }
                        }
                    }
                    Ok(Parsed::Incomplete { need: n }) => {
                        need = n;
                        break;
                    }
                    Err(e) => {
                        reply::error(&mut out, &format!("ERR {}", e.0));
                        let _ = write_out(&mut sock, &mut out, lim).await;
                        linger_close(&mut sock).await;
                        return End::Protocol;
                    }
                }
            }
        }
        if start > 0 {
            // `need` was measured from `start`, where the buffer now begins.
            buf.drain(..start);
        }
        if let Err(e) = write_out(&mut sock, &mut out, lim).await {
            return e;
        }
        s.local.maybe_merge(&sh.stats);
        if buf.len() > lim.max_query_buffer {
            reply::error(&mut out, "ERR query buffer limit reached, closing the connection");
            let _ = write_out(&mut sock, &mut out, lim).await;
            return End::Limit("query buffer limit");
        }
        // Read more: at least a chunk, and up to what the pending bulk needs
        // (never more than the query buffer limit allows).
        let floor = if buf.capacity() == 0 { FIRST_READ } else { READ_CHUNK };
        let want = need.saturating_sub(buf.len()).clamp(floor, 1 << 20);
        if buf.capacity() > 4 * READ_CHUNK && buf.len() < READ_CHUNK && need < READ_CHUNK {
            buf.shrink_to(READ_CHUNK);
        }
        buf.reserve(want);
        let n = match read_some(&mut sock, &mut buf, lim, s, sh).await {
            Ok(n) => n,
            Err(e) => return e,
        };
        if n == 0 {
            return End::Closed;
        }
    }
}

/// Closes after an error reply so that the reply arrives: closing a socket
/// with unread input sends a reset, which can discard the reply at the
/// peer. Shuts down the write side, then discards at most 1 MiB of input for
/// at most 200 ms.
async fn linger_close(sock: &mut TcpStream) {
    let _ = sock.shutdown().await;
    let mut sink = [0u8; 16 << 10];
    let mut left = 1usize << 20;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
    while left > 0 {
        match tokio::time::timeout_at(deadline, sock.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
            _ => break,
        }
    }
}

/// Reads into `buf`, merging the stats while idle and enforcing the idle
/// timeout. Returns bytes read (0: the peer closed).
async fn read_some(
    sock: &mut TcpStream, buf: &mut Vec<u8>, lim: &ConnLimits, s: &mut Session, sh: &Shared,
) -> Result<usize, End> {
    if s.local.dirty() {
        match timeout(Duration::from_millis(50), sock.read_buf(buf)).await {
            Ok(r) => return r.map_err(|_| End::Io),
            Err(_) => s.local.merge(&sh.stats),
        }
    }
    match lim.idle_timeout {
        None => sock.read_buf(buf).await.map_err(|_| End::Io),
        Some(t) => match timeout(t, sock.read_buf(buf)).await {
            Ok(r) => r.map_err(|_| End::Io),
            Err(_) => Err(End::Limit("idle timeout")),
        },
    }
}
