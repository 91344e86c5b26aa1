//! A SOCKS5 CONNECT (RFC 1928) with user name and password (RFC 1929) on a
//! stream that already has its timeouts: the blocking `socks` crate sets
//! none, and a phone cannot wait on a stalled proxy. The target is sent as
//! a name, so the proxy resolves it and no DNS query leaves the phone.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};

use crate::delivery::TransportError;

const VERSION: u8 = 5;
const USER_PASSWORD: u8 = 2;

/// Asks the proxy on `stream` for a connection to `host:port`, as a SOCKS
/// user of its own (random), so Tor gives it a circuit of its own.
pub(crate) fn connect(stream: &mut TcpStream, host: &str, port: u16) -> Result<(), TransportError> {
    let refused = |why: &str| TransportError::Unreachable(format!("the proxy {why}"));
    let io = |e: std::io::Error| refused(&format!("did not answer: {e}"));
    stream.write_all(&[VERSION, 1, USER_PASSWORD]).map_err(io)?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).map_err(io)?;
    if choice != [VERSION, USER_PASSWORD] {
        return Err(refused("does not take a user name and password"));
    }
    let user = hex::encode(rand::random::<[u8; 16]>());
    let password = hex::encode(rand::random::<[u8; 8]>());
    let mut auth = vec![1, user.len() as u8];
    auth.extend_from_slice(user.as_bytes());
    auth.push(password.len() as u8);
    auth.extend_from_slice(password.as_bytes());
    stream.write_all(&auth).map_err(io)?;
    let mut status = [0u8; 2];
    stream.read_exact(&mut status).map_err(io)?;
    if status[1] != 0 {
        return Err(refused("refused the user name"));
    }
    let mut request = vec![VERSION, 1, 0];
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            let name = host.as_bytes();
            if name.len() > 255 {
                return Err(refused("cannot take a host name that long"));
            }
            request.push(3);
            request.push(name.len() as u8);
            request.extend_from_slice(name);
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).map_err(io)?;
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).map_err(io)?;
    if reply[0] != VERSION {
        return Err(refused("does not speak SOCKS5"));
    }
    if reply[1] != 0 {
        return Err(refused(match reply[1] {
            2 => "does not allow that connection",
            3 => "cannot reach that network",
            4 => "cannot reach that host",
            5 => "was refused by the relay",
            6 => "timed out reaching the relay",
            _ => "could not connect",
        }));
    }
    // The bound address, unused: skip it.
    let skip = match reply[3] {
        1 => 4,
        4 => 16,
        3 => {
            let mut len = [0u8; 1];
            stream.read_exact(&mut len).map_err(io)?;
            len[0] as usize
        }
        _ => return Err(refused("sent an address of no known type")),
    };
    let mut rest = vec![0u8; skip + 2];
    stream.read_exact(&mut rest).map_err(io)?;
    Ok(())
}
