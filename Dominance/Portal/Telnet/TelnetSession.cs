using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Dominance.Api;
using Dominance.Core;
using Dominance.Portal.Sending;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Portal.Telnet;

/// <summary>
/// A telnet client: on a Kestrel connection, or inside a WebSocket (the <c>telnet.mudstandards.org</c> subprotocol).
/// Input is parsed by <see cref="TelnetParser"/>; option negotiation follows RFC 1143's rule that a side answers a
/// request only when it changes that option's state, so negotiation cannot loop.
/// </summary>
/// <remarks>
/// <para>Offered at connect: we WILL SGA, GMCP, EOR, MSSP, MCCP2 and CHARSET; we ask the client to DO NAWS and TTYPE.
/// ECHO is switched on demand by the core (password prompts), and an unasked DO ECHO is refused. Any other option is
/// refused (DONT/WONT), once per option.</para>
/// <list type="bullet">
/// <item>TTYPE: the MTTS cycle (<see cref="TerminalTypeCycle"/>): client name, terminal type, MTTS flags.</item>
/// <item>EOR/GA: a prompt (<see cref="FrameKind.Prompt"/>) ends with IAC EOR if the client agreed to EOR, else with
/// IAC GA unless it agreed to suppress go-ahead.</item>
/// <item>CHARSET: UTF-8 is offered first, Latin-1 second; a client on Latin-1 (by CHARSET, or by MTTS flags without
/// UTF-8) gets output converted to Latin-1, and its input is read as Latin-1. Input that is not valid UTF-8 is read as
/// Latin-1 whatever was agreed.</item>
/// <item>MCCP2: after <c>IAC SB MCCP2 IAC SE</c> everything goes through one zlib stream, flushed (sync flush) with every
/// flush of the connection: compression adds no delay.</item>
/// <item>Colour: a client without colour (<see cref="ColorSupport.None"/>) gets text with its colour codes removed.</item>
/// <item>NAWS: text is wrapped to the window's width (<see cref="PortalSession.FitToWindow"/>).</item>
/// </list>
/// <para>Threads: negotiation runs on the read loop; what the write loop needs of it (EOR, SGA, charset, colour) is
/// in volatile fields, and the start of compression travels as a frame so that it happens at its place in the output.</para>
/// <para>On a Kestrel connection whose socket the portal can take (<see cref="DirectSocket"/>), every byte goes out on
/// the portal's sender thread, not through Kestrel's output pipe: the write loop hands its bytes over once per flush,
/// a broadcast's bytes are shared with every connection that renders them alike (<see cref="TelnetRendering"/>), and
/// MCCP2's zlib stream runs on the sender, so that whatever reaches the connection, either way, is compressed in order.</para>
/// </remarks>
internal sealed class TelnetSession : PortalSession
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly IDuplexPipe _transport;
    private readonly EndPoint? _local;
    private readonly Action _abort;
    private readonly DirectSocket? _direct;
    private readonly TelnetParser _parser;
    private readonly OptionFlags[] _options = new OptionFlags[256];
    private readonly TerminalTypeCycle _terminalTypes = new();
    private volatile bool _gmcp;
    private volatile bool _closingRead;
    private volatile bool _eor;
    private volatile bool _sga;
    private volatile bool _latin1;
    private volatile bool _plain;
    private volatile bool _echoOff;
    private bool _charsetAgreed;
    private bool _echoRefused;
    private CommandRateLimiter _negotiations; // read loop only: telnet's own traffic, beside the commands' limit

    // Write loop only.
    private ZLibStream? _compressor;
    private BufferWriterStream? _compressed;
    private byte[] _scratch = [];
    private readonly OutgoingBuffer? _outgoing; // sent on directly: the bytes of this turn, handed to the socket at the flush
    private bool _compressing; // sent on directly: the sender's zlib stream is on

    /// <summary>
    /// A telnet client on a Kestrel connection; with <paramref name="direct"/>, its output is sent on its socket by
    /// the portal (see the remarks), and Kestrel's output pipe is not written.
    /// </summary>
    public TelnetSession(PortalService portal, ConnectionContext connection, IPAddress remoteAddress, DirectSocket? direct = null)
        : this(portal, connection.Transport, remoteAddress, connection.LocalEndPoint, ClientProtocol.Telnet,
            () => connection.Abort(new ConnectionAbortedException("Session aborted by the portal.")))
    {
        _direct = direct;
        if (direct is not null)
        {
            _outgoing = new OutgoingBuffer();
            direct.Overflowed = OnSendBacklogFull;
            direct.Failed = OnSendFailed;
        }
    }

    /// <summary>A telnet client over any duplex byte stream (<paramref name="abort"/> tears the stream down at once).</summary>
    public TelnetSession(PortalService portal, IDuplexPipe transport, IPAddress remoteAddress, EndPoint? local, ClientProtocol protocol, Action abort)
        : base(portal, protocol, remoteAddress)
    {
        _transport = transport;
        _local = local;
        _abort = abort;
        _parser = new TelnetParser(portal.Settings.MaxInputLength);
        _negotiations = new CommandRateLimiter(portal.Settings.CommandRateLimit, portal.Settings.CommandRateWindow, portal.Clock);
    }

    /// <inheritdoc/>
    protected override DirectSocket? Direct => _direct;

    /// <inheritdoc/>
    /// <remarks>
    /// What <see cref="WriteFrameAsync"/> writes, as a shared rendering: text that fits the window, in the client's
    /// charset and colours; GMCP to GMCP clients. Compression is the sender's, per connection.
    /// The rendering is chosen here, when the broadcast is taken, not when it is written: a negotiation that the read
    /// loop finishes meanwhile (<c>DONT GMCP</c>, a charset) can be answered before the broadcast goes out, so a client may
    /// get one GMCP message after <c>WONT GMCP</c>, or one line in the charset it left. Clients ignore it (review F, item 4).
    /// </remarks>
    protected override FrameRendering? BroadcastRendering(OutputKind kind, OutputPayload payload) => kind switch
    {
        OutputKind.Text when !TextWrapping.Needed(payload, Info.Width) => TelnetRendering.Text(_plain, _latin1),
        OutputKind.Data when _gmcp => TelnetRendering.Gmcp,
        _ => null,
    };

    protected override void OnStarted()
    {
        _options[SuppressGoAhead] = _options[Gmcp] = _options[Eor] = _options[Mssp] = _options[Mccp2] = _options[Charset] = OptionFlags.UsAsked;
        _options[WindowSize] = _options[TerminalType] = OptionFlags.ThemAsked;
        SendRaw([
            Iac, Will, SuppressGoAhead, Iac, Will, Gmcp, Iac, Do, WindowSize, Iac, Do, TerminalType,
            Iac, Will, Eor, Iac, Will, Mssp, Iac, Will, Mccp2, Iac, Will, Charset,
        ]);
    }

    protected override async Task ReadLoopAsync()
    {
        PipeReader input = _transport.Input;
        while (true)
        {
            ReadResult result = await input.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled && _closingRead)
            {
                return;
            }

            BeginRead();
            ReadOnlySequence<byte> buffer = result.Buffer;
            while (!buffer.IsEmpty)
            {
                int consumed = _parser.Parse(buffer.FirstSpan, out TelnetEvent found);
                buffer = buffer.Slice(consumed);
                if (found.Kind != TelnetEventKind.None)
                {
                    await HandleAsync(found).ConfigureAwait(false);
                }
            }

            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    protected override ValueTask WriteFrameAsync(OutputFrame frame)
    {
        IBufferWriter<byte> output = _outgoing ?? (IBufferWriter<byte>)_transport.Output;
        switch (frame.Kind)
        {
            case FrameKind.Text:
                WriteText(output, FitToWindow(frame.Payload!));
                break;
            case FrameKind.Raw:
                Put(output, frame.Payload!.Span);
                break;
            case FrameKind.Prompt:
                WriteText(output, frame.Payload!.Span);
                if (_eor)
                {
                    Put(output, [Iac, EndOfRecord]);
                }
                else if (!_sga)
                {
                    Put(output, [Iac, GoAhead]);
                }

                break;
            case FrameKind.Data when _gmcp:
                WriteGmcp(output, frame.Payload!.Span);
                break;
            case FrameKind.EchoOff:
                _echoOff = true;
                Put(output, [Iac, Will, Echo]); // "I will echo": the client stops echoing locally, and we echo nothing
                break;
            case FrameKind.EchoOn:
                _echoOff = false;
                Put(output, [Iac, Wont, Echo]);
                break;
            case FrameKind.CompressOn when _direct is not null && !_compressing:
                // The last uncompressed bytes, and the sender's stream starts right after them: no broadcast between.
                Put(output, [Iac, Sb, Mccp2, Iac, Se]);
                _outgoing!.SendTo(_direct, DirectSocket.WriteEnd.StartCompression);
                _compressing = true;
                break;
            case FrameKind.CompressOff when _direct is not null && _compressing:
                _outgoing!.SendTo(_direct, DirectSocket.WriteEnd.EndCompression);
                _compressing = false;
                break;
            case FrameKind.CompressOn when _direct is null && _compressor is null:
                Put(output, [Iac, Sb, Mccp2, Iac, Se]); // the last uncompressed bytes
                _compressed = new BufferWriterStream(output);
                _compressor = new ZLibStream(_compressed, CompressionLevel.Fastest, leaveOpen: false);
                break;
            case FrameKind.CompressOff when _direct is null && _compressor is not null:
                EndCompression();
                break;
        }

        return ValueTask.CompletedTask;
    }

    protected override async ValueTask FlushAsync()
    {
        if (_direct is not null)
        {
            _outgoing!.SendTo(_direct); // the sender compresses it, if MCCP2 is on
            return;
        }

        _compressor?.Flush(); // a zlib sync flush: everything written so far can be decompressed at once
        FlushResult result = await _transport.Output.FlushAsync().ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new ConnectionAbortedException("The connection closed while writing.");
        }
    }

    protected override async ValueTask CloseTransportAsync()
    {
        if (_direct is not null)
        {
            // The last write (the compressed stream ends with it), then at most the shutdown grace for the client to take
            // it before Kestrel shuts the socket down: it is not written through Kestrel's pipe, so Kestrel cannot wait for it.
            _outgoing!.SendTo(_direct, DirectSocket.WriteEnd.Last);
            if (!await Portal.DrainClosingAsync(_direct, $"Telnet session {Id} ({Info.RemoteAddress})").ConfigureAwait(false))
            {
                _direct.Close();
            }
        }

        EndCompression();
        await _transport.Output.CompleteAsync().ConfigureAwait(false);
        _closingRead = true;
        _transport.Input.CancelPendingRead();
    }

    protected override void AbortTransport()
    {
        _closingRead = true;
        _direct?.Close();
        _abort();
    }

    /// <summary>Ends the compressed stream (its final block goes out with the next flush) and frees the compressor.</summary>
    private void EndCompression()
    {
        _compressor?.Dispose();
        _compressor = null;
        _compressed = null;
    }

    /// <summary>
    /// A session aborted while compressing still has its compressor (zlib's native state): it is freed here, at once,
    /// rather than left to the finalizer, and its last bytes are dropped (the connection is gone).
    /// </summary>
    protected override void OnWriteLoopEnded()
    {
        _compressed?.Discard();
        EndCompression();
        _outgoing?.Discard();
        _direct?.Close(); // frees the sender's zlib stream, if any; what was to be sent has been, or is dropped
    }

    /// <summary>Writes bytes to the connection, through the compressor if MCCP2 is on.</summary>
    private void Put(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        if (_compressor is { } compressor)
        {
            compressor.Write(bytes);
        }
        else
        {
            output.Write(bytes);
        }
    }

    /// <summary>Writes game text as this client takes it: as it is (the common case), without colour, or in Latin-1 (<see cref="TelnetRendering.WriteText"/>).</summary>
    private void WriteText(IBufferWriter<byte> output, ReadOnlySpan<byte> text)
    {
        if (!_plain && !_latin1)
        {
            Put(output, text);
            return;
        }

        if (_scratch.Length < text.Length)
        {
            _scratch = new byte[Math.Max(text.Length, 256)];
        }

        Put(output, _scratch.AsSpan(0, TelnetRendering.WriteText(text, _plain, _latin1, _scratch)));
    }

    /// <summary>Writes a GMCP message in its envelope, with the bytes a broadcast's are written with (<see cref="TelnetRendering.Gmcp"/>).</summary>
    private void WriteGmcp(IBufferWriter<byte> output, ReadOnlySpan<byte> payload)
    {
        int most = TelnetRendering.Gmcp.MaxLength(payload.Length);
        if (_compressor is null)
        {
            output.Advance(TelnetRendering.Gmcp.Write(payload, output.GetSpan(most)));
            return;
        }

        if (_scratch.Length < most)
        {
            _scratch = new byte[Math.Max(most, 256)];
        }

        Put(output, _scratch.AsSpan(0, TelnetRendering.Gmcp.Write(payload, _scratch)));
    }

    /// <summary>
    /// Counts one of telnet's own messages (a negotiation, a subnegotiation other than GMCP, AYT) against a budget of
    /// their own, as large as the command rate limit and apart from it: a client sends a few dozen at connect and on a
    /// resize, and each may cost an answer, a zlib stream (MCCP2 on and off), an MSSP table or an event to the game.
    /// Past the budget they are ignored until the window ends, counted as rate-limited input and logged once, without
    /// costing the player's commands or sending the client a notice for what it did not type.
    /// </summary>
    private bool AdmitNegotiation() => Admit(ref _negotiations, "telnet negotiations", tellClient: false);

    private ValueTask HandleAsync(TelnetEvent found)
    {
        switch (found.Kind)
        {
            case TelnetEventKind.Line:
                return AdmitInput() ? RelayLineAsync(TextRendering.DecodeInput(_parser.Line, _latin1)) : ValueTask.CompletedTask;
            case TelnetEventKind.LineTooLong:
                if (AdmitInput())
                {
                    RejectTooLong(found.Length);
                }

                return ValueTask.CompletedTask;
            case TelnetEventKind.Subnegotiation when found.Option == Gmcp:
                return SubnegotiateAsync(found.Option, _parser.Subnegotiation); // a GMCP message is a command: the commands' limit
            case TelnetEventKind.Subnegotiation:
                return AdmitNegotiation() ? SubnegotiateAsync(found.Option, _parser.Subnegotiation) : ValueTask.CompletedTask;
            case TelnetEventKind.SubnegotiationTooLong:
                if (AdmitNegotiation())
                {
                    RejectMalformed(
                        $"A telnet subnegotiation (option {found.Option}) passed {found.Length} bytes without ending; it is ignored up to its IAC SE.",
                        $"subnegotiation of option {found.Option} over {found.Length} bytes");
                }

                return ValueTask.CompletedTask;
            case TelnetEventKind.Command when found.Command is Will or Wont or Do or Dont:
                return AdmitNegotiation() ? NegotiateAsync(found.Command, found.Option) : ValueTask.CompletedTask;
            case TelnetEventKind.Command when found.Command == AreYouThere:
                if (AdmitNegotiation())
                {
                    SendLine("[Yes]");
                }

                return ValueTask.CompletedTask;
            default:
                return ValueTask.CompletedTask; // NOP, GA, BRK, IP, ...: nothing to do for a line-mode server
        }
    }

    private ValueTask NegotiateAsync(byte verb, byte option)
    {
        if (option == Echo && verb is Do or Dont)
        {
            // A DO ECHO while we are not echoing is the client's own request (we only echo, that is stay silent, for
            // passwords): refuse it, once. Otherwise these acknowledge the switches the core asked for.
            if (verb == Do && !_echoOff && !_echoRefused)
            {
                _echoRefused = true;
                SendRaw([Iac, Wont, Echo]);
            }

            return ValueTask.CompletedTask;
        }

        // DO/DONT are about options we perform; WILL/WONT about options the client performs.
        bool aboutUs = verb is Do or Dont;
        OptionFlags on = aboutUs ? OptionFlags.UsOn : OptionFlags.ThemOn;
        OptionFlags asked = aboutUs ? OptionFlags.UsAsked : OptionFlags.ThemAsked;
        OptionFlags refused = aboutUs ? OptionFlags.UsRefused : OptionFlags.ThemRefused;
        bool supported = aboutUs
            ? option is SuppressGoAhead or Gmcp or Eor or Mssp or Mccp2 or Charset
            : option is WindowSize or TerminalType or Charset;
        byte yes = aboutUs ? Will : Do;
        byte no = aboutUs ? Wont : Dont;

        ref OptionFlags flags = ref _options[option];
        bool wasAsked = (flags & asked) != 0;
        flags &= ~asked;

        if (verb is Do or Will)
        {
            if (!supported)
            {
                if ((flags & refused) == 0)
                {
                    flags |= refused; // refuse each unknown option once; a client that insists is ignored
                    SendRaw([Iac, no, option]);
                }

                return ValueTask.CompletedTask;
            }

            if ((flags & on) != 0)
            {
                return ValueTask.CompletedTask; // already on: an acknowledgement, never answered
            }

            flags |= on;
            if (!wasAsked)
            {
                SendRaw([Iac, yes, option]);
            }

            return OptionChangedAsync(option, aboutUs, enabled: true);
        }

        if ((flags & on) == 0)
        {
            return ValueTask.CompletedTask; // already off, or a refusal of what we offered
        }

        // The change first: MCCP2's compressed stream ends before the answer, which then goes out as it is.
        flags &= ~on;
        ValueTask changed = OptionChangedAsync(option, aboutUs, enabled: false);
        if (!wasAsked)
        {
            SendRaw([Iac, no, option]);
        }

        return changed;
    }

    private ValueTask OptionChangedAsync(byte option, bool aboutUs, bool enabled)
    {
        switch (option)
        {
            case TerminalType when enabled:
                SendRaw([Iac, Sb, TerminalType, TerminalTypeSend, Iac, Se]);
                return ValueTask.CompletedTask;
            case Gmcp:
                _gmcp = enabled;
                return UpdateInfoAsync(info => info with { SupportsOutOfBand = enabled });
            case SuppressGoAhead:
                _sga = enabled;
                return ValueTask.CompletedTask;
            case Eor:
                _eor = enabled;
                return UpdateInfoAsync(info => info with { MarksPrompts = enabled });
            case Mssp when enabled:
                SendRaw(MsspVariables.Encode(MsspVariables.Collect(Portal, _local)));
                return ValueTask.CompletedTask;
            case Mccp2:
                QueueControl(enabled ? FrameKind.CompressOn : FrameKind.CompressOff);
                return ValueTask.CompletedTask;
            case Charset when enabled && aboutUs:
                SendRaw([Iac, Sb, Charset, CharsetRequest, .. CharsetChoice.Offer, Iac, Se]);
                return ValueTask.CompletedTask;
            default:
                return ValueTask.CompletedTask;
        }
    }

    private ValueTask SubnegotiateAsync(byte option, ReadOnlySpan<byte> data)
    {
        switch (option)
        {
            case WindowSize when data.Length == 4:
                int width = (data[0] << 8) | data[1];
                int height = (data[2] << 8) | data[3];
                return UpdateInfoAsync(info => info with { Width = width, Height = height });
            case TerminalType when data.Length > 1 && data[0] == TerminalTypeIs:
                string terminal = InputText.Clean(Encoding.ASCII.GetString(data[1..Math.Min(data.Length, 65)]));
                return TerminalTypeAsync(terminal);
            case Charset:
                return CharsetAsync(data);
            case Mccp2:
                RejectMalformed(
                    "MCCP2 compresses what the server sends; a client does not subnegotiate it (to turn it off, send IAC DONT MCCP2). Ignored.",
                    "MCCP2 subnegotiation from the client");
                return ValueTask.CompletedTask;
            case Gmcp when _gmcp && data.Length > 0:
                if (!AdmitInput())
                {
                    return ValueTask.CompletedTask;
                }

                string message = s_utf8.GetString(data);
                int space = message.IndexOf(' ');
                return space < 0 ? ReceiveGmcpAsync(message, "") : ReceiveGmcpAsync(message[..space], message[(space + 1)..]);
            default:
                return ValueTask.CompletedTask;
        }
    }

    /// <summary>One answer of the TTYPE cycle: published at once, and asked again while the cycle goes on.</summary>
    private ValueTask TerminalTypeAsync(string terminal)
    {
        if (terminal.Length == 0 || _terminalTypes.Done)
        {
            return ValueTask.CompletedTask;
        }

        SessionInfo info = Info;
        bool again = _terminalTypes.Take(terminal, ref info);
        Portal.Log.LogDebug("Session {Session} TTYPE round {Round}: {Answer}", Id, _terminalTypes.Rounds, terminal);
        if (again)
        {
            SendRaw([Iac, Sb, TerminalType, TerminalTypeSend, Iac, Se]);
        }

        // MTTS flags without UTF-8: the client cannot take it, unless CHARSET agreed otherwise.
        if (info.Mtts is { } flags && flags != MttsFlags.None && (flags & MttsFlags.Utf8) == 0 && !_charsetAgreed)
        {
            info = info with { Charset = CharsetChoice.Latin1 };
        }

        return PublishAsync(info);
    }

    /// <summary>A CHARSET subnegotiation: the client's answer to our REQUEST, or a REQUEST of its own.</summary>
    private ValueTask CharsetAsync(ReadOnlySpan<byte> data)
    {
        byte command = data.IsEmpty ? (byte)0 : data[0];
        switch (command)
        {
            case CharsetAccepted:
                string name = InputText.Clean(Encoding.ASCII.GetString(data[1..Math.Min(data.Length, 41)]));
                if (CharsetChoice.Canonical(name) is not { } accepted)
                {
                    RejectMalformed(
                        $"CHARSET: the server offered UTF-8 or ISO-8859-1, not '{name}'. The connection stays in {Info.Charset}.",
                        $"CHARSET accepted '{name}', which was not offered");
                    return ValueTask.CompletedTask;
                }

                return AgreeCharsetAsync(accepted);
            case CharsetRejected:
                Portal.Log.LogDebug("Session {Session} rejected both UTF-8 and ISO-8859-1; it stays in {Charset}", Id, Info.Charset);
                return ValueTask.CompletedTask;
            case CharsetRequest when CharsetChoice.Pick(data[1..]) is { } picked:
                SendRaw([Iac, Sb, Charset, CharsetAccepted, .. Encoding.ASCII.GetBytes(picked), Iac, Se]);
                return AgreeCharsetAsync(picked);
            case CharsetRequest:
                SendRaw([Iac, Sb, Charset, CharsetRejected, Iac, Se]);
                return ValueTask.CompletedTask;
            default:
                RejectMalformed(
                    "CHARSET: a subnegotiation must be REQUEST, ACCEPTED or REJECTED (RFC 2066); it was ignored.",
                    $"CHARSET subnegotiation {command}");
                return ValueTask.CompletedTask;
        }
    }

    private ValueTask AgreeCharsetAsync(string charset)
    {
        _charsetAgreed = true;
        return PublishAsync(Info with { Charset = charset });
    }

    /// <summary>Applies new session facts to the output (charset, colour) and tells the core.</summary>
    private ValueTask PublishAsync(SessionInfo info)
    {
        _latin1 = info.Charset == CharsetChoice.Latin1;
        _plain = info.Colors == ColorSupport.None;
        return UpdateInfoAsync(_ => info);
    }

    /// <summary>Per-option negotiation state (RFC 1143, simplified: we never ask twice).</summary>
    [Flags]
    private enum OptionFlags : byte
    {
        UsOn = 1,
        ThemOn = 2,
        UsAsked = 4,
        ThemAsked = 8,
        UsRefused = 16,
        ThemRefused = 32,
    }
}
