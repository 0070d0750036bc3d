const h=227,v=[227],y={50227:((o,d,t)=>{t.a(o,async(x,n)=>{try{t.r(d);var s=t(96421),a=t(71037);await(0,a.e)(s),n()}catch(c){n(c)}},1)})};export{h as id,v as ids,y as modules};
