#!/usr/bin/perl
# dkim_verify.pl - independent DKIM verification with Debian's Mail::DKIM.
#
#   dkim_verify.pl TXTFILE < message
#
# TXTFILE holds the DNS record as `ntamsa dkim keygen` prints it; its quoted
# strings are joined and served as the public key for every selector/domain
# (Mail::DKIM's key fetch is replaced: no DNS needed).  Prints the result
# ("pass", "fail", "invalid", "none") and the details; exit 0 only on pass.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::PublicKey;

my $txtfile = shift or die "usage: dkim_verify.pl TXTFILE < message\n";
open(my $fh, '<', $txtfile) or die "$txtfile: $!\n";
my $rec = do { local $/; <$fh> };
close($fh);
my @parts = $rec =~ /"([^"]*)"/g;
my $keytxt = join('', @parts);
die "no TXT strings in $txtfile\n" unless length $keytxt;

{
	no warnings 'redefine';
	*Mail::DKIM::PublicKey::fetch_async = sub {
		my ($class, %prms) = @_;
		my $cb = ($prms{Callbacks} || {})->{Success} || sub { $_[0] };
		return sub {
			my $self = $class->parse($keytxt);
			$self->{Selector} = $prms{Selector};
			$self->{Domain} = $prms{Domain};
			$self->check;
			return $cb->($self);
		};
	};
}

my $dkim = Mail::DKIM::Verifier->new();
binmode STDIN;
while (<STDIN>) {
	s/\r?\n\z/\r\n/;	# Mail::DKIM wants CRLF; input already has it
	$dkim->PRINT($_);
}
$dkim->CLOSE;
my $r = $dkim->result;
my @sigs = $dkim->signatures;
for my $s (@sigs) {
	printf "sig d=%s s=%s a=%s c=%s result=%s\n", $s->domain, $s->selector,
	    $s->algorithm, join('/', $s->canonicalization),
	    $s->result_detail // '';
}
print "$r\n";
exit($r eq 'pass' ? 0 : 1);
