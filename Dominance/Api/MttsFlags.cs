namespace Dominance.Api;

/// <summary>
/// What a MUD client says it can do, in the Mud Terminal Type Standard (MTTS): the bit vector a client sends as
/// <c>MTTS n</c> in its third TTYPE round (https://tintin.mudhalla.net/protocols/mtts/).
/// </summary>
[Flags]
public enum MttsFlags
{
    /// <summary>Nothing reported (or the client does not speak MTTS).</summary>
    None = 0,

    /// <summary>The client renders ANSI colour codes.</summary>
    Ansi = 1,

    /// <summary>The client supports most VT100 codes.</summary>
    Vt100 = 2,

    /// <summary>The client uses UTF-8.</summary>
    Utf8 = 4,

    /// <summary>The client renders 256 colours.</summary>
    Colors256 = 8,

    /// <summary>The client supports xterm mouse tracking.</summary>
    MouseTracking = 16,

    /// <summary>The client supports the OSC colour palette.</summary>
    OscColorPalette = 32,

    /// <summary>The client is used with a screen reader: colour and text art only get in the way.</summary>
    ScreenReader = 64,

    /// <summary>The client is a proxy between the server and another client.</summary>
    Proxy = 128,

    /// <summary>The client renders 24-bit colour.</summary>
    TrueColor = 256,

    /// <summary>The client supports the Mud New Environment Standard.</summary>
    Mnes = 512,

    /// <summary>The client supports the Mud Server Link Protocol.</summary>
    Mslp = 1024,

    /// <summary>The client is connected over TLS.</summary>
    Ssl = 2048,
}

/// <summary>How much colour a session's client renders.</summary>
public enum ColorSupport
{
    /// <summary>No colour: the client has no ANSI support, or a screen reader reads it. The portal strips colour codes.</summary>
    None,

    /// <summary>The 16 basic ANSI colours.</summary>
    Ansi16,

    /// <summary>The xterm 256-colour palette as well.</summary>
    Ansi256,

    /// <summary>24-bit colour as well.</summary>
    TrueColor,
}
