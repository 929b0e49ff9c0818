namespace Dominance.Portal.Telnet;

/// <summary>Telnet command bytes (RFC 854) and the options Dominance negotiates.</summary>
internal static class TelnetCodes
{
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

    /// <summary>Generic MUD Communication Protocol: out-of-band JSON messages.</summary>
    public const byte Gmcp = 201;

    /// <summary>TTYPE subnegotiation: "my terminal type is".</summary>
    public const byte TerminalTypeIs = 0;

    /// <summary>TTYPE subnegotiation: "send me your terminal type".</summary>
    public const byte TerminalTypeSend = 1;
}
