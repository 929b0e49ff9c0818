namespace Dominance.Portal.Telnet;

/// <summary>Telnet command bytes (RFC 854) and the options Dominance negotiates.</summary>
internal static class TelnetCodes
{
    /// <summary>RFC 885: end of record, which marks the end of a prompt when EOR is agreed.</summary>
    public const byte EndOfRecord = 239;

    public const byte Se = 240;
    public const byte Nop = 241;
    public const byte DataMark = 242;
    public const byte Break = 243;
    public const byte InterruptProcess = 244;
    public const byte AbortOutput = 245;
    public const byte AreYouThere = 246;
    public const byte EraseCharacter = 247;
    public const byte EraseLine = 248;
    public const byte GoAhead = 249;
    public const byte Sb = 250;
    public const byte Will = 251;
    public const byte Wont = 252;
    public const byte Do = 253;
    public const byte Dont = 254;
    public const byte Iac = 255;

    /// <summary>RFC 857: who echoes what the user types.</summary>
    public const byte Echo = 1;

    /// <summary>RFC 858: suppress go-ahead (character-at-a-time friendly, what every MUD client expects).</summary>
    public const byte SuppressGoAhead = 3;

    /// <summary>RFC 1091: terminal type.</summary>
    public const byte TerminalType = 24;

    /// <summary>RFC 1073: negotiate about window size.</summary>
    public const byte WindowSize = 31;

    /// <summary>RFC 885: the end-of-record option (prompts are ended by IAC EOR).</summary>
    public const byte Eor = 25;

    /// <summary>RFC 2066: character set negotiation.</summary>
    public const byte Charset = 42;

    /// <summary>MUD Server Status Protocol: variables for MUD listing crawlers.</summary>
    public const byte Mssp = 70;

    /// <summary>MUD Client Compression Protocol v2: zlib-compressed output.</summary>
    public const byte Mccp2 = 86;

    /// <summary>Generic MUD Communication Protocol: out-of-band JSON messages.</summary>
    public const byte Gmcp = 201;

    /// <summary>TTYPE subnegotiation: "my terminal type is".</summary>
    public const byte TerminalTypeIs = 0;

    /// <summary>TTYPE subnegotiation: "send me your terminal type".</summary>
    public const byte TerminalTypeSend = 1;

    /// <summary>MSSP: a variable name follows.</summary>
    public const byte MsspVar = 1;

    /// <summary>MSSP: a value follows.</summary>
    public const byte MsspVal = 2;

    /// <summary>CHARSET subnegotiation: a list of character sets to choose from.</summary>
    public const byte CharsetRequest = 1;

    /// <summary>CHARSET subnegotiation: the character set chosen.</summary>
    public const byte CharsetAccepted = 2;

    /// <summary>CHARSET subnegotiation: none of them.</summary>
    public const byte CharsetRejected = 3;
}
