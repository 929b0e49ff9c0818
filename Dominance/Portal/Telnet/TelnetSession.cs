using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Dominance.Api;
using Microsoft.AspNetCore.Connections;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Portal.Telnet;

/// <summary>
/// A telnet client on a Kestrel connection. Input is parsed by <see cref="TelnetParser"/>; option negotiation follows
/// RFC 1143's rule that a side answers a request only when it changes that option's state, so negotiation cannot loop.
/// </summary>
/// <remarks>
/// Negotiated at connect: we WILL SGA and GMCP; we ask the client to DO NAWS and TTYPE. ECHO is switched on demand by
/// the core (password prompts). Any other option is refused (DONT/WONT), once per option.
/// </remarks>
internal sealed class TelnetSession : PortalSession
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly ConnectionContext _connection;
    private readonly TelnetParser _parser;
    private readonly OptionFlags[] _options = new OptionFlags[256];
    private volatile bool _gmcp;
    private volatile bool _closingRead;

    public TelnetSession(PortalService portal, ConnectionContext connection, IPAddress remoteAddress)
        : base(portal, ClientProtocol.Telnet, remoteAddress)
    {
        _connection = connection;
        _parser = new TelnetParser(portal.Settings.MaxInputLength);
    }

    protected override void OnStarted()
    {
        _options[SuppressGoAhead] = _options[Gmcp] = OptionFlags.UsAsked;
        _options[WindowSize] = _options[TerminalType] = OptionFlags.ThemAsked;
        SendRaw([Iac, Will, SuppressGoAhead, Iac, Will, Gmcp, Iac, Do, WindowSize, Iac, Do, TerminalType]);
    }

    protected override async Task ReadLoopAsync()
    {
        PipeReader input = _connection.Transport.Input;
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
        PipeWriter output = _connection.Transport.Output;
        switch (frame.Kind)
        {
            case FrameKind.Text or FrameKind.Raw:
                output.Write(frame.Payload!.Span);
                break;
            case FrameKind.Data when _gmcp:
                output.Write([Iac, Sb, Gmcp]);
                output.Write(frame.Payload!.Span); // UTF-8 never contains 0xFF, so no IAC doubling is needed
                output.Write([Iac, Se]);
                break;
            case FrameKind.EchoOff:
                output.Write([Iac, Will, Echo]); // "I will echo": the client stops echoing locally, and we echo nothing
                break;
            case FrameKind.EchoOn:
                output.Write([Iac, Wont, Echo]);
                break;
        }

        return ValueTask.CompletedTask;
    }

    protected override async ValueTask FlushAsync()
    {
        FlushResult result = await _connection.Transport.Output.FlushAsync().ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new ConnectionAbortedException("The connection closed while writing.");
        }
    }

    protected override async ValueTask CloseTransportAsync()
    {
        await _connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
        _closingRead = true;
        _connection.Transport.Input.CancelPendingRead();
    }

    protected override void AbortTransport()
    {
        _closingRead = true;
        _connection.Abort(new ConnectionAbortedException("Session aborted by the portal."));
    }

    private ValueTask HandleAsync(TelnetEvent found)
    {
        switch (found.Kind)
        {
            case TelnetEventKind.Line:
                return AdmitInput() ? RelayLineAsync(s_utf8.GetString(_parser.Line)) : ValueTask.CompletedTask;
            case TelnetEventKind.LineTooLong:
                if (AdmitInput())
                {
                    RejectTooLong(found.Length);
                }

                return ValueTask.CompletedTask;
            case TelnetEventKind.Subnegotiation:
                return SubnegotiateAsync(found.Option, _parser.Subnegotiation);
            case TelnetEventKind.Command when found.Command is Will or Wont or Do or Dont:
                return NegotiateAsync(found.Command, found.Option);
            case TelnetEventKind.Command when found.Command == AreYouThere:
                SendLine("[Yes]");
                return ValueTask.CompletedTask;
            default:
                return ValueTask.CompletedTask; // NOP, GA, BRK, IP, ...: nothing to do for a line-mode server
        }
    }

    private ValueTask NegotiateAsync(byte verb, byte option)
    {
        if (option == Echo && verb is Do or Dont)
        {
            return ValueTask.CompletedTask; // acknowledgements of the ECHO switches the core asked for
        }

        // DO/DONT are about options we perform; WILL/WONT about options the client performs.
        bool aboutUs = verb is Do or Dont;
        OptionFlags on = aboutUs ? OptionFlags.UsOn : OptionFlags.ThemOn;
        OptionFlags asked = aboutUs ? OptionFlags.UsAsked : OptionFlags.ThemAsked;
        OptionFlags refused = aboutUs ? OptionFlags.UsRefused : OptionFlags.ThemRefused;
        bool supported = aboutUs ? option is SuppressGoAhead or Gmcp : option is WindowSize or TerminalType;
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

            return OptionChangedAsync(option, enabled: true);
        }

        if ((flags & on) == 0)
        {
            return ValueTask.CompletedTask; // already off, or a refusal of what we offered
        }

        flags &= ~on;
        if (!wasAsked)
        {
            SendRaw([Iac, no, option]);
        }

        return OptionChangedAsync(option, enabled: false);
    }

    private ValueTask OptionChangedAsync(byte option, bool enabled)
    {
        switch (option)
        {
            case TerminalType when enabled:
                SendRaw([Iac, Sb, TerminalType, TerminalTypeSend, Iac, Se]);
                return ValueTask.CompletedTask;
            case Gmcp:
                _gmcp = enabled;
                return UpdateInfoAsync(info => info with { SupportsOutOfBand = enabled });
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
                return UpdateInfoAsync(info => info with { TerminalType = terminal });
            case Gmcp when _gmcp && data.Length > 0:
                string message = s_utf8.GetString(data);
                int space = message.IndexOf(' ');
                return space < 0 ? RelayDataAsync(message, "") : RelayDataAsync(message[..space], message[(space + 1)..]);
            default:
                return ValueTask.CompletedTask;
        }
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
