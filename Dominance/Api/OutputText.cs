using System.Runtime.CompilerServices;
using System.Text;

namespace Dominance.Api;

/// <summary>
/// Builds one line of output straight into the server's pooled buffer, so that sending an interpolated string
/// (<c>context.Send(session, $"{name} says: {text}")</c>) allocates nothing: the compiler picks this over
/// <see cref="string"/> for any <c>$"..."</c> argument. Numbers are written as UTF-8 directly; <c>\n</c> becomes CRLF.
/// </summary>
/// <remarks>Created by the compiler and consumed by the <see cref="IGameContext"/> method it is passed to; use it nowhere else.</remarks>
[InterpolatedStringHandler]
public ref struct OutputText
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private OutputPayload? _payload;
    private int _length;

    /// <summary>Called by the compiler with the sizes of the interpolated string's parts.</summary>
    public OutputText(int literalLength, int formattedCount)
    {
        _payload = OutputPayload.Rent((literalLength * 3) + (formattedCount * 24) + 2);
        _length = 0;
    }

    /// <summary>Called by the compiler for the literal parts.</summary>
    public void AppendLiteral(string value) => AppendText(value);

    /// <summary>Called by the compiler for a string hole.</summary>
    public void AppendFormatted(string? value) => AppendText(value);

    /// <summary>Called by the compiler for a span hole.</summary>
    public void AppendFormatted(ReadOnlySpan<char> value) => AppendText(value);

    /// <summary>Called by the compiler for any other hole: written as UTF-8 directly when the type can, else via ToString.</summary>
    public void AppendFormatted<T>(T value) => AppendFormatted(value, format: null);

    /// <summary>Called by the compiler for a hole with a format (<c>{price:F2}</c>).</summary>
    public void AppendFormatted<T>(T value, string? format)
    {
        // The casts below are on the generic value itself, so the JIT removes the box for value types (as the BCL's
        // own interpolation handlers rely on).
        if (value is IUtf8SpanFormattable)
        {
            int written;
            while (!((IUtf8SpanFormattable)value).TryFormat(Payload.Buffer.AsSpan(_length), out written, format, System.Globalization.CultureInfo.InvariantCulture))
            {
                Payload.Grow(Payload.Buffer.Length * 2, _length);
            }

            _length += written;
        }
        else if (value is IFormattable)
        {
            AppendText(((IFormattable)value).ToString(format, System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            AppendText(value?.ToString());
        }
    }

    /// <summary>Ends the line (CRLF, unless the text already ended with one) and hands over the payload with its one reference.</summary>
    internal OutputPayload Finish()
    {
        OutputPayload payload = Payload;
        byte[] buffer = payload.Buffer;
        if (_length < 2 || buffer[_length - 2] != '\r' || buffer[_length - 1] != '\n')
        {
            Ensure(2);
            buffer = payload.Buffer;
            buffer[_length++] = (byte)'\r';
            buffer[_length++] = (byte)'\n';
        }

        payload.SetLength(_length);
        _payload = null;
        return payload;
    }

    private readonly OutputPayload Payload => _payload ?? throw new InvalidOperationException("This output was already sent.");

    private void AppendText(ReadOnlySpan<char> text)
    {
        while (true)
        {
            int newline = text.IndexOf('\n');
            ReadOnlySpan<char> segment = newline < 0 ? text : text[..newline];
            if (newline >= 0 && segment.Length > 0 && segment[^1] == '\r')
            {
                segment = segment[..^1];
            }

            Ensure(s_utf8.GetMaxByteCount(segment.Length) + 2);
            _length += s_utf8.GetBytes(segment, Payload.Buffer.AsSpan(_length));
            if (newline < 0)
            {
                return;
            }

            Payload.Buffer[_length++] = (byte)'\r';
            Payload.Buffer[_length++] = (byte)'\n';
            text = text[(newline + 1)..];
        }
    }

    private void Ensure(int more)
    {
        if (_length + more > Payload.Buffer.Length)
        {
            Payload.Grow(_length + more, _length);
        }
    }
}
